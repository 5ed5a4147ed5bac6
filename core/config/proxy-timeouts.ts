/**
 * The deployed proxy tier's timeouts, derived from the three tunnel settings
 * in cdk.json so that they hold in the one order that works:
 *
 * - Idle: tunnel idle timeout <= load balancer idle timeout < the proxy's
 *   client keep-alive. The load balancer never cuts a tunnel sooner than the
 *   proxy's own idle timeout would; and it closes an idle keep-alive
 *   connection before the proxy does, so it never sends a request on a
 *   connection the proxy is closing (AWS's guidance for targets).
 * - Stopping a proxy task: the load balancer deregisters it (no new requests
 *   or tunnels) for the deregistration delay, then ECS sends SIGTERM. The
 *   proxy gives open tunnels their drain deadline and in-flight requests the
 *   shutdown timeout, which is longer; it then flushes its last metrics. ECS
 *   kills it at the stop timeout, which covers all of that.
 * - Removing a server (/rm): the proxy waits up to the drain timeout for the
 *   server's requests and tunnels before it stops the task, so the tunnels'
 *   drain deadline (seen by every proxy within a Ring refresh) passes first.
 *
 * The deployment schema (deployment.ts) refuses settings that cannot hold,
 * and the CDK app (infra/constructs/proxy-service.ts) sets exactly these.
 */

/** The load balancer's idle timeout when nothing raises it (the ALB default), seconds. */
export const ALB_DEFAULT_IDLE_TIMEOUT_S = 60;
/** The longest idle timeout an Application Load Balancer accepts, seconds. */
export const ALB_MAX_IDLE_TIMEOUT_S = 4000;
/** The proxy's client keep-alive exceeds the load balancer's idle timeout by this, seconds. */
export const KEEPALIVE_OVER_ALB_IDLE_S = 5;
/** How long the load balancer drains a deregistering proxy before ECS sends SIGTERM, seconds. */
export const PROXY_DEREGISTRATION_DELAY_S = 30;
/** The proxy's own default bound on finishing in-flight requests after SIGTERM, seconds. */
export const PROXY_BASE_SHUTDOWN_TIMEOUT_S = 25;
/** The proxy's own default wait for a removed server's requests (DRAIN_TIMEOUT_MS), seconds. */
export const PROXY_BASE_DRAIN_TIMEOUT_S = 30;
/**
 * After the tunnels' drain deadline: closing them, and the requests still in flight, before the
 * shutdown deadline; on /rm, other proxies seeing the drain up to a Ring refresh (1 s) later. Seconds.
 */
export const AFTER_TUNNEL_DRAIN_S = 5;
/** After the shutdown deadline: the last metrics flush (PutMetricData) and closing the admin port, seconds. */
export const AFTER_SHUTDOWN_S = 15;
/** The proxy's stop timeout when nothing needs more (today's: 35 s beyond a 25 s shutdown), seconds. */
export const PROXY_BASE_STOP_TIMEOUT_S = 60;
/** Fargate stops a container at most this long after SIGTERM, seconds. */
export const FARGATE_MAX_STOP_TIMEOUT_S = 120;
/** The longest tunnel drain whose shutdown still fits inside Fargate's longest stop timeout, seconds. */
export const MAX_TUNNEL_DRAIN_S = FARGATE_MAX_STOP_TIMEOUT_S - AFTER_SHUTDOWN_S - AFTER_TUNNEL_DRAIN_S;

/** The tunnel settings of cdk.json's `proxy` that the timeouts follow. */
export interface TunnelSettings {
  readonly tunnelIdleTimeoutSeconds: number;
  readonly tunnelDrainSeconds: number;
}

/** Every timeout of the deployed proxy tier, in the units each consumer takes. */
export interface ProxyTimeouts {
  /** The load balancer attribute idle_timeout.timeout_seconds. */
  readonly loadBalancerIdleTimeoutS: number;
  /** The target group's deregistration_delay.timeout_seconds. */
  readonly deregistrationDelayS: number;
  /** The container's stopTimeout: SIGTERM to SIGKILL. */
  readonly stopTimeoutS: number;
  /** The proxy's environment. */
  readonly env: {
    readonly TUNNEL_IDLE_TIMEOUT_MS: number;
    readonly TUNNEL_DRAIN_MS: number;
    readonly CLIENT_KEEPALIVE_TIMEOUT_MS: number;
    readonly SHUTDOWN_TIMEOUT_MS: number;
    readonly DRAIN_TIMEOUT_MS: number;
  };
}

/** What is wrong with a pair of tunnel settings, by field name; empty when the timeouts can hold. */
export function tunnelSettingsProblems(s: TunnelSettings): { field: keyof TunnelSettings; message: string }[] {
  const problems: { field: keyof TunnelSettings; message: string }[] = [];
  if (s.tunnelIdleTimeoutSeconds > ALB_MAX_IDLE_TIMEOUT_S) {
    problems.push({
      field: 'tunnelIdleTimeoutSeconds',
      message:
        `must be at most ${ALB_MAX_IDLE_TIMEOUT_S} s: the load balancer's idle timeout must be at least ` +
        `the tunnels' (or it cuts idle tunnels first), and ${ALB_MAX_IDLE_TIMEOUT_S} s is the longest it accepts`,
    });
  }
  if (s.tunnelDrainSeconds > MAX_TUNNEL_DRAIN_S) {
    problems.push({
      field: 'tunnelDrainSeconds',
      message:
        `must be at most ${MAX_TUNNEL_DRAIN_S} s: after SIGTERM the proxy needs the drain, ${AFTER_TUNNEL_DRAIN_S} s to close ` +
        `the tunnels and last requests and ${AFTER_SHUTDOWN_S} s to flush its metrics, and Fargate kills a task at most ` +
        `${FARGATE_MAX_STOP_TIMEOUT_S} s after SIGTERM`,
    });
  }
  return problems;
}

/** The proxy tier's timeouts for valid tunnel settings; throws, naming the fields, on settings that cannot hold. */
export function proxyTimeouts(s: TunnelSettings): ProxyTimeouts {
  const problems = tunnelSettingsProblems(s);
  if (problems.length > 0) {
    throw new Error(`proxy timeouts: ${problems.map((p) => `proxy.${p.field}: ${p.message}`).join('; ')}`);
  }
  const loadBalancerIdleTimeoutS = Math.max(ALB_DEFAULT_IDLE_TIMEOUT_S, s.tunnelIdleTimeoutSeconds);
  const shutdownS = Math.max(PROXY_BASE_SHUTDOWN_TIMEOUT_S, s.tunnelDrainSeconds + AFTER_TUNNEL_DRAIN_S);
  const drainS = Math.max(PROXY_BASE_DRAIN_TIMEOUT_S, s.tunnelDrainSeconds + AFTER_TUNNEL_DRAIN_S);
  return {
    loadBalancerIdleTimeoutS,
    deregistrationDelayS: PROXY_DEREGISTRATION_DELAY_S,
    stopTimeoutS: Math.max(PROXY_BASE_STOP_TIMEOUT_S, shutdownS + AFTER_SHUTDOWN_S),
    env: {
      TUNNEL_IDLE_TIMEOUT_MS: s.tunnelIdleTimeoutSeconds * 1000,
      TUNNEL_DRAIN_MS: s.tunnelDrainSeconds * 1000,
      CLIENT_KEEPALIVE_TIMEOUT_MS: (loadBalancerIdleTimeoutS + KEEPALIVE_OVER_ALB_IDLE_S) * 1000,
      SHUTDOWN_TIMEOUT_MS: shutdownS * 1000,
      DRAIN_TIMEOUT_MS: drainS * 1000,
    },
  };
}
