import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDeploymentConfig } from '#core/config/deployment.js';
import { SERVER_PORT } from '#infra/constructs/server-service.js';
import { loadProxyConfig } from '#proxy/config.js';
import { type Synthesized, shippedConfig, synthesize } from './synth.js';

const runFile = promisify(execFile);
const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

let shipped: Synthesized;
let natX86: Synthesized;

beforeAll(() => {
  shipped = synthesize();
  const config = shippedConfig();
  config.envName = 'natx86';
  config.natGateways = 1;
  config.proxy.architecture = 'x86_64';
  config.proxy.image = 'public.ecr.aws/example/proxy:1.2.3';
  config.servers.image = 'public.ecr.aws/example/server:1.2.3';
  config.certificateArn = CERTIFICATE_ARN;
  config.recordsApi = true;
  // Tunnel settings off the defaults: a longer idle timeout and drain move every timeout they order.
  config.proxy.tunnelIdleTimeoutSeconds = 500;
  config.proxy.tunnelDrainSeconds = 60;
  config.proxy.maxTunnels = 2500;
  natX86 = synthesize({ config });
}, 120_000);

type Resource = { Properties: Record<string, unknown> };

function resource(s: Synthesized, type: string, prefix: string): Resource {
  const found = Object.entries(s.service.findResources(type)).find(([id]) => id.startsWith(prefix));
  if (found === undefined) throw new Error(`no ${type} ${prefix}`);
  return found[1] as Resource;
}

function resourceId(s: Synthesized, type: string, prefix: string): string {
  const found = Object.keys(s.service.findResources(type)).find((id) => id.startsWith(prefix));
  if (found === undefined) throw new Error(`no ${type} ${prefix}`);
  return found;
}

function container(s: Synthesized, prefix: 'ProxyTask' | 'ServersTask'): Record<string, unknown> {
  const defs = resource(s, 'AWS::ECS::TaskDefinition', prefix).Properties.ContainerDefinitions as Record<
    string,
    unknown
  >[];
  expect(defs).toHaveLength(1);
  return defs[0] as Record<string, unknown>;
}

function envOf(c: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries((c.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
}

/** Every statement of the IAM policy whose logical id starts with `prefix`. */
function statements(s: Synthesized, prefix: string): Record<string, unknown>[] {
  const doc = resource(s, 'AWS::IAM::Policy', prefix).Properties.PolicyDocument as {
    Statement: Record<string, unknown>[];
  };
  return doc.Statement;
}

const actionsOf = (st: Record<string, unknown>) => [st.Action].flat() as string[];

describe('network', () => {
  it('spans two zones with no NAT gateway by default: tasks in public subnets with public addresses', () => {
    shipped.service.resourceCountIs('AWS::EC2::NatGateway', 0);
    shipped.service.resourceCountIs('AWS::EC2::Subnet', 2);
    shipped.service.allResourcesProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'ENABLED' } },
    });
  });

  it('puts tasks in private subnets behind NAT when natGateways is set, DynamoDB through a free gateway endpoint', () => {
    natX86.service.resourceCountIs('AWS::EC2::NatGateway', 1);
    natX86.service.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.dynamodb']] },
    });
    shipped.service.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    natX86.service.allResourcesProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED' } },
    });
  });
});

describe('proxy and server services', () => {
  it('sizes tasks from the config, ARM64 by default', () => {
    const c = shipped.config;
    shipped.service.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: String(c.proxy.cpu),
      Memory: String(c.proxy.memoryMiB),
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          PortMappings: [
            { ContainerPort: 8080, Protocol: 'tcp' },
            { ContainerPort: 8081, Protocol: 'tcp' },
          ],
        }),
      ],
    });
    shipped.service.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: String(c.servers.cpu),
      Memory: String(c.servers.memoryMiB),
      RuntimePlatform: { CpuArchitecture: 'ARM64' },
    });
    natX86.service.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: String(c.proxy.cpu),
      RuntimePlatform: { CpuArchitecture: 'X86_64' },
    });
  });

  it('has no DesiredCount, so a deploy that updates a service never resets the fleet the autoscaler grew', () => {
    for (const [id, r] of Object.entries(shipped.service.findResources('AWS::ECS::Service'))) {
      expect(Object.keys(r.Properties), id).not.toContain('DesiredCount');
    }
  });

  it('sets each configured count once, on create (or replacement), by ecs:UpdateService scoped to that service', () => {
    const calls = shipped.service.findResources('Custom::AWS');
    expect(Object.keys(calls).sort()).toEqual([
      expect.stringMatching(/^ProxyInitialCount/),
      expect.stringMatching(/^ServersInitialCount/),
    ]);
    for (const [prefix, count, service] of [
      ['ProxyInitialCount', shipped.config.proxy.desiredCount, 'ProxyService'],
      ['ServersInitialCount', shipped.config.servers.initialCount, 'ServersService'],
    ] as const) {
      const [, r] = Object.entries(calls).find(([id]) => id.startsWith(prefix)) ?? [];
      const props = r?.Properties as { Create: unknown; Update: unknown };
      // The call is JSON with tokens in it; what it says, and what it may depend on:
      const text = JSON.stringify(props.Create);
      expect(text, prefix).toContain('\\"action\\":\\"UpdateService\\"');
      expect(text, prefix).toContain(`\\"desiredCount\\":${count}`);
      expect(text, prefix).toContain(`"Fn::GetAtt":["${resourceId(shipped, 'AWS::ECS::Service', service)}","Name"]`);
      // No reference to a task definition or an image: changing those sends this resource no Update.
      expect(text, prefix).not.toMatch(/TaskDefinition|Task[0-9A-F]{8}|Image/);
      expect(props.Update, prefix).toEqual(props.Create);
    }
    const grants = Object.entries(shipped.service.findResources('AWS::IAM::Policy'))
      .filter(([id]) => /InitialCount/.test(id))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
    expect(grants).toEqual([
      expect.objectContaining({
        Action: 'ecs:UpdateService',
        Effect: 'Allow',
        Resource: { Ref: resourceId(shipped, 'AWS::ECS::Service', 'ProxyService') },
      }),
      expect.objectContaining({
        Action: 'ecs:UpdateService',
        Effect: 'Allow',
        Resource: { Ref: resourceId(shipped, 'AWS::ECS::Service', 'ServersService') },
      }),
    ]);
  });

  it('deploys with a rolling deployment and a rollback circuit breaker', () => {
    shipped.service.allResourcesProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DeploymentConfiguration: Match.objectLike({
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
      }),
    });
  });

  it('injects the admin token as a Secrets Manager secret, never as a plain value', () => {
    const proxy = container(shipped, 'ProxyTask');
    const [secretId] = Object.keys(shipped.service.findResources('AWS::SecretsManager::Secret'));
    expect(proxy.Secrets).toEqual([{ Name: 'ADMIN_TOKEN', ValueFrom: { Ref: secretId } }]);
    expect(Object.keys(envOf(proxy))).not.toContain('ADMIN_TOKEN');
    expect(Object.keys(envOf(proxy))).not.toContain('ADMIN_TOKEN_FILE');
    shipped.service.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: {
        PasswordLength: 48,
        ExcludeCharacters: Match.stringLikeRegexp('^[^A-Za-z0-9]+$'),
        ExcludePunctuation: Match.absent(),
      },
    });
  });

  it('gives the proxy its settings and the Ring table, and the servers the same table', () => {
    const proxy = envOf(container(shipped, 'ProxyTask'));
    expect(proxy).toMatchObject({
      MEMBERSHIP: 'dynamodb',
      STRATEGY: shipped.config.proxy.strategy,
      HASH_KEY: shipped.config.proxy.hashKey,
      METRICS_NAMESPACE: shipped.config.monitoring.metricsNamespace,
      ENV_NAME: shipped.config.envName,
      PROXY_PORT: '8080',
      ADMIN_PORT: '8081',
    });
    const servers = envOf(container(shipped, 'ServersTask'));
    expect(proxy.RING_TABLE).toEqual({ 'Fn::ImportValue': expect.stringContaining('Ringmaster-dev-Data:') });
    expect(servers.RING_TABLE).toEqual(proxy.RING_TABLE);
    // The records API is off unless cdk.json asks for it: the proxy then runs the `net` plane alone.
    expect(shipped.config.recordsApi).toBe(false);
    for (const name of ['SHARD_TABLE', 'MAP_TABLE', 'RECORDS_TABLE', 'DATA_PLANE']) {
      expect(proxy[name], name).toBeUndefined();
      expect(servers[name], name).toBeUndefined();
    }
  });

  it('with recordsApi: gives the proxy and the servers the records tables as well', () => {
    const proxy = envOf(container(natX86, 'ProxyTask'));
    const servers = envOf(container(natX86, 'ServersTask'));
    for (const name of ['RING_TABLE', 'SHARD_TABLE', 'MAP_TABLE', 'RECORDS_TABLE']) {
      expect(proxy[name], name).toEqual({ 'Fn::ImportValue': expect.stringContaining('Ringmaster-natx86-Data:') });
      expect(servers[name], name).toEqual(proxy[name]);
    }
    expect(proxy.DATA_PLANE).toBeUndefined();
  });

  it('exports the same values from the Data stack with the records API on or off, so toggling it never deletes an export in use', () => {
    const exported = (s: Synthesized) => Object.keys(s.data.findOutputs('*', { Export: {} })).sort();
    expect(exported(natX86)).toEqual(exported(shipped));
    expect(exported(shipped).filter((id) => /ShardT|MapT|Records/.test(id))).toHaveLength(6);
  });

  it('drains: the load balancer stops sending 30 s before SIGTERM, and tasks get 60 s (proxy) and 30 s (servers) to finish', () => {
    expect(container(shipped, 'ProxyTask').StopTimeout).toBe(60);
    expect(container(shipped, 'ServersTask').StopTimeout).toBe(30);
    shipped.service.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
    });
  });

  it('raises the load balancer idle timeout to at least the tunnel idle timeout, under the proxy keep-alive', () => {
    for (const [s, idleS, keepAliveMs] of [
      [shipped, 300, 305_000],
      [natX86, 500, 505_000],
    ] as const) {
      const tunnelIdleS = s.config.proxy.tunnelIdleTimeoutSeconds;
      const attributes = resource(s, 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'ProxyLoadBalancer').Properties
        .LoadBalancerAttributes as { Key: string; Value: string }[];
      const albIdle = Number(attributes.find((a) => a.Key === 'idle_timeout.timeout_seconds')?.Value);
      expect(albIdle).toBe(idleS);
      expect(albIdle).toBeGreaterThanOrEqual(tunnelIdleS);
      const env = envOf(container(s, 'ProxyTask'));
      expect(env.TUNNEL_IDLE_TIMEOUT_MS).toBe(String(tunnelIdleS * 1000));
      expect(env.CLIENT_KEEPALIVE_TIMEOUT_MS).toBe(String(keepAliveMs));
      expect(Number(env.CLIENT_KEEPALIVE_TIMEOUT_MS)).toBeGreaterThan(albIdle * 1000);
    }
  });

  it('gives the proxy the tunnel cap and drain, and leaves the drain inside the shutdown and stop timeouts', () => {
    for (const [s, stopS, shutdownMs, drainTimeoutMs] of [
      [shipped, 60, 25_000, 30_000],
      [natX86, 80, 65_000, 65_000],
    ] as const) {
      const proxy = container(s, 'ProxyTask');
      const env = envOf(proxy);
      expect(env).toMatchObject({
        MAX_TUNNELS: String(s.config.proxy.maxTunnels),
        TUNNEL_DRAIN_MS: String(s.config.proxy.tunnelDrainSeconds * 1000),
        SHUTDOWN_TIMEOUT_MS: String(shutdownMs),
        DRAIN_TIMEOUT_MS: String(drainTimeoutMs),
      });
      expect(proxy.StopTimeout).toBe(stopS);
      // SIGTERM: the tunnels' drain, then the shutdown deadline, then the last metrics flush, before SIGKILL.
      const drainMs = Number(env.TUNNEL_DRAIN_MS);
      expect(Number(env.SHUTDOWN_TIMEOUT_MS)).toBeGreaterThan(drainMs);
      expect((proxy.StopTimeout as number) * 1000).toBeGreaterThan(Number(env.SHUTDOWN_TIMEOUT_MS));
      // /rm: the proxy waits out the tunnels' drain before it stops a server.
      expect(Number(env.DRAIN_TIMEOUT_MS)).toBeGreaterThan(drainMs);
      s.service.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
      });
    }
    expect(natX86.config.proxy.maxTunnels).toBe(2500);
  });

  it("gives the proxy an environment the proxy's own config schema accepts", () => {
    for (const s of [shipped, natX86]) {
      // Table, cluster and service names are deploy-time tokens; any valid name stands in for them.
      const env = Object.fromEntries(
        Object.entries(envOf(container(s, 'ProxyTask'))).map(([name, value]) => [
          name,
          typeof value === 'string' ? value : `deployed-${name.toLowerCase().replaceAll('_', '-')}`,
        ]),
      );
      const loaded = loadProxyConfig({ ...env, ADMIN_TOKEN: 'x'.repeat(48) });
      expect(loaded).toMatchObject({
        CLIENT_KEEPALIVE_TIMEOUT_MS: Number(env.CLIENT_KEEPALIVE_TIMEOUT_MS),
        SHUTDOWN_TIMEOUT_MS: Number(env.SHUTDOWN_TIMEOUT_MS),
        DRAIN_TIMEOUT_MS: Number(env.DRAIN_TIMEOUT_MS),
        TUNNEL_IDLE_TIMEOUT_MS: Number(env.TUNNEL_IDLE_TIMEOUT_MS),
        MAX_TUNNELS: Number(env.MAX_TUNNELS),
        TUNNEL_DRAIN_MS: Number(env.TUNNEL_DRAIN_MS),
        MEMBERSHIP: 'dynamodb',
        SCALER: 'ecs',
        METRICS_SINK: 'cloudwatch',
      });
    }
  });

  it('health-checks the proxy on the admin port /healthz, which needs no token', () => {
    shipped.service.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      TargetType: 'ip',
      HealthCheckPort: '8081',
      HealthCheckPath: '/healthz',
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 3,
      Matcher: { HttpCode: '200' },
    });
    shipped.service.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    shipped.service.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
  });

  it('serves plain HTTP on port 80 when no certificate is configured, and says so in the URL', () => {
    shipped.service.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    shipped.service.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'forward', TargetGroupArn: Match.anyValue() }],
    });
    expect(JSON.stringify(shipped.service.findOutputs('ProxyUrl'))).toContain('http://');
  });

  it('with certificateArn: HTTPS on 443 with that certificate, and port 80 redirecting every request to it', () => {
    natX86.service.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    natX86.service.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: CERTIFICATE_ARN }],
      SslPolicy: Match.stringLikeRegexp('^ELBSecurityPolicy-TLS13'),
      DefaultActions: [
        { Type: 'forward', TargetGroupArn: { Ref: Match.stringLikeRegexp('^ProxyLoadBalancerHttpsProxyGroup') } },
      ],
    });
    natX86.service.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [
        { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
      ],
    });
    expect(JSON.stringify(natX86.service.findOutputs('ProxyUrl'))).toContain('https://');
  });

  it('keeps the admin port inside the VPC and the data port behind the load balancer', () => {
    const ingress = resource(shipped, 'AWS::EC2::SecurityGroup', 'ProxyServiceSecurityGroup').Properties
      .SecurityGroupIngress as Record<string, unknown>[];
    expect(ingress).toEqual([
      expect.objectContaining({ CidrIp: '10.42.0.0/16', FromPort: 8081, ToPort: 8081, IpProtocol: 'tcp' }),
    ]);
    const vpc = resource(shipped, 'AWS::EC2::VPC', 'NetworkVpc').Properties;
    expect(vpc.CidrBlock).toBe('10.42.0.0/16');
    // Group-to-group: only the load balancer reaches 8080, only the proxies reach the servers.
    shipped.service.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 8080,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProxyServiceSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProxyLoadBalancerSecurityGroup'), 'GroupId'] },
    });
    shipped.service.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 8080,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ServersServiceSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProxyServiceSecurityGroup'), 'GroupId'] },
    });
    for (const [id, r] of Object.entries(shipped.service.findResources('AWS::EC2::SecurityGroup'))) {
      for (const rule of (r.Properties.SecurityGroupIngress ?? []) as Record<string, unknown>[]) {
        if (rule.CidrIp === '0.0.0.0/0')
          expect({ id, port: rule.FromPort }).toEqual({ id: expect.stringMatching(/^ProxyLoadBalancer/), port: 80 });
      }
    }
  });

  it("health-checks the servers' containers on /heartbeat with a command the node image can run (no curl there)", async () => {
    const check = container(shipped, 'ServersTask').HealthCheck as Record<string, unknown>;
    expect(check).toMatchObject({ Interval: 15, Timeout: 5, Retries: 3, StartPeriod: 20 });
    const command = check.Command as string[];
    expect(command.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(command[3]).toContain(`http://127.0.0.1:${SERVER_PORT}/heartbeat`);
    expect(container(shipped, 'ProxyTask').HealthCheck).toBeUndefined();
    // Run the check's own script with node against real sockets: a server answering 200, one answering
    // 503, and a port nobody listens on. The port is the test server's; everything else is verbatim.
    const exitCode = async (port: number) => {
      const script = (command[3] as string).replace(`:${SERVER_PORT}/`, `:${port}/`);
      try {
        await runFile(process.execPath, ['-e', script], { timeout: 10_000 });
        return 0;
      } catch (err) {
        return (err as { code?: number }).code;
      }
    };
    const serve = async (status: number) => {
      const server = createServer((req, res) => {
        res.writeHead(req.url === '/heartbeat' ? status : 404).end();
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      return server;
    };
    const healthy = await serve(200);
    const failing = await serve(503);
    try {
      expect(await exitCode((healthy.address() as AddressInfo).port)).toBe(0);
      expect(await exitCode((failing.address() as AddressInfo).port)).toBe(1);
      const closed = (failing.address() as AddressInfo).port;
      failing.close();
      expect(await exitCode(closed)).toBe(1);
    } finally {
      healthy.close();
      failing.close();
    }
  });

  it('keeps container logs in log groups with a retention', () => {
    shipped.service.resourceCountIs('AWS::Logs::LogGroup', 3);
    shipped.service.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('runs a configured image as given, and builds the Dockerfile when none is', () => {
    expect(container(natX86, 'ProxyTask').Image).toBe('public.ecr.aws/example/proxy:1.2.3');
    expect(container(natX86, 'ServersTask').Image).toBe('public.ecr.aws/example/server:1.2.3');
    // Asset images live in the bootstrap repository, named by content hash.
    expect(JSON.stringify(container(shipped, 'ProxyTask').Image)).toContain('container-assets');
  });
});

describe('task permissions', () => {
  it('lets the proxy read and write exactly the Ring (and the records tables with recordsApi), and publish only to its namespace', () => {
    const tablesOf = (s: Synthesized, role: string) => {
      const dynamo = statements(s, role).filter((x) => actionsOf(x).some((a) => a.startsWith('dynamodb:')));
      return [...new Set(dynamo.flatMap((x) => [x.Resource].flat()).map((r) => JSON.stringify(r)))].sort();
    };
    const named = (...names: string[]) =>
      names.map((t) => expect.stringMatching(new RegExp(`ExportsOutputFnGetAtt${t}Table`)));
    expect(tablesOf(shipped, 'ProxyTaskTaskRoleDefaultPolicy')).toEqual(named('Ring'));
    expect(tablesOf(natX86, 'ProxyTaskTaskRoleDefaultPolicy')).toEqual(named('MapT', 'Records', 'Ring', 'ShardT'));
    expect(tablesOf(shipped, 'ServersTaskTaskRoleDefaultPolicy')).toEqual(named('Ring'));
    expect(tablesOf(natX86, 'ServersTaskTaskRoleDefaultPolicy')).toEqual(named('MapT', 'Records', 'Ring', 'ShardT'));
    const st = statements(shipped, 'ProxyTaskTaskRoleDefaultPolicy');
    const put = st.filter((s) => actionsOf(s).includes('cloudwatch:PutMetricData'));
    expect(put).toEqual([
      expect.objectContaining({
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': shipped.config.monitoring.metricsNamespace } },
      }),
    ]);
    expect(st.filter((s) => s.Resource === '*').flatMap(actionsOf)).toEqual(['cloudwatch:PutMetricData']);
  });

  it('lets the proxy act on the servers service for /add and /rm, and on nothing else of ECS', () => {
    expect(envOf(container(shipped, 'ProxyTask'))).toMatchObject({ SCALER: 'ecs', METRICS_SINK: 'cloudwatch' });
    const env = envOf(container(shipped, 'ProxyTask'));
    expect(JSON.stringify(env.ECS_SERVER_SERVICE)).toContain('ServersService');
    const st = statements(shipped, 'ProxyServersScaling');
    const byAction = (action: string) => st.filter((x) => actionsOf(x).includes(action));
    expect(byAction('ecs:UpdateService')).toEqual([
      expect.objectContaining({ Resource: { Ref: expect.stringMatching(/^ServersService/) } }),
    ]);
    expect(byAction('ecs:ListTasks')).toEqual([
      expect.objectContaining({
        Resource: '*',
        Condition: { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [expect.stringMatching(/^Cluster/), 'Arn'] } } },
      }),
    ]);
    const stop = byAction('ecs:StopTask');
    expect(stop).toHaveLength(1);
    expect(JSON.stringify(stop[0]?.Resource)).toMatch(/:task\/.*Cluster.*\/\*/);
    expect(st.flatMap(actionsOf).sort()).toEqual([
      'ecs:DescribeServices',
      'ecs:ListTasks',
      'ecs:StopTask',
      'ecs:UpdateService',
      'ecs:UpdateTaskProtection',
    ]);
  });

  it('lets the proxy read, and only read, the autoscaler state for /status and the balance page', () => {
    expect(JSON.stringify(envOf(container(shipped, 'ProxyTask')).AUTOSCALER_STATE_TABLE)).toContain('AutoscalerState');
    const st = statements(shipped, 'ProxyAutoscalerStatusRead');
    const actions = st.flatMap(actionsOf);
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) expect(a).toMatch(/^dynamodb:(BatchGet|Get|Query|Scan|ConditionCheck|DescribeTable)/);
    expect(JSON.stringify(st.map((x) => x.Resource))).toContain('AutoscalerState');
  });

  it('lets the servers use the same tables as the proxy and nothing else', () => {
    for (const [s, count] of [
      [shipped, 1],
      [natX86, 4],
    ] as const) {
      const st = statements(s, 'ServersTaskTaskRoleDefaultPolicy');
      for (const x of st) expect(actionsOf(x).every((a) => a.startsWith('dynamodb:'))).toBe(true);
      const tables = new Set(st.flatMap((x) => [x.Resource].flat()).map((r) => JSON.stringify(r)));
      expect(tables.size).toBe(count);
      expect([...tables].join()).not.toContain('AutoscalerState');
    }
  });
});

describe('autoscaler', () => {
  const fn = () => resource(shipped, 'AWS::Lambda::Function', 'AutoscalerFunction').Properties;

  it('runs nodejs24.x on ARM64, with a timeout under the schedule period', () => {
    expect(fn()).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    expect(fn().Timeout as number).toBeLessThan(shipped.config.autoscaler.scheduleMinutes * 60);
  });

  it('reserves no concurrency (new accounts refuse it; the state item serializes ticks) and never retries a tick', () => {
    expect(fn().ReservedConcurrentExecutions).toBeUndefined();
    shipped.service.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    shipped.service.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^AutoscalerFunction') },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  it('is fired every minute by EventBridge, without retries of stale ticks', () => {
    shipped.service.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AutoscalerFunction'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        }),
      ],
    });
  });

  it('receives the validated config, which the same schema accepts, and the names it acts on', () => {
    const env = (fn().Environment as { Variables: Record<string, unknown> }).Variables;
    expect(parseDeploymentConfig(JSON.parse(env.RINGMASTER_CONFIG as string))).toEqual(shipped.config);
    expect(env).toMatchObject({
      METRICS_NAMESPACE: 'Ringmaster',
      ENV_NAME: 'dev',
      CLUSTER_NAME: { Ref: expect.stringMatching(/^Cluster/) },
      PROXY_SERVICE_NAME: { 'Fn::GetAtt': [expect.stringMatching(/^ProxyService/), 'Name'] },
      SERVER_SERVICE_NAME: { 'Fn::GetAtt': [expect.stringMatching(/^ServersService/), 'Name'] },
      STATE_TABLE: { 'Fn::ImportValue': expect.stringMatching(/AutoscalerStateTable/) },
    });
  });

  it('may read and set the counts of exactly the two services, publish its metrics with no API grant, and touch only the state table', () => {
    const st = statements(shipped, 'AutoscalerRoleDefaultPolicy');
    const byAction = (action: string) => st.filter((s) => actionsOf(s).includes(action));
    expect(byAction('ecs:UpdateService')).toEqual([
      expect.objectContaining({
        Resource: [{ Ref: expect.stringMatching(/^ProxyService/) }, { Ref: expect.stringMatching(/^ServersService/) }],
      }),
    ]);
    expect(byAction('ecs:DescribeServices')).toEqual(byAction('ecs:UpdateService'));
    // It only reads and sets counts: no task listing, protection or stopping (that is the proxy's /rm).
    for (const action of ['ecs:ListTasks', 'ecs:UpdateTaskProtection', 'ecs:StopTask', 'ecs:DescribeTasks']) {
      expect(byAction(action)).toEqual([]);
    }
    // Its metrics leave as embedded-metric log lines: no PutMetricData on AWS.
    expect(byAction('cloudwatch:PutMetricData')).toEqual([]);
    const unscoped = st
      .filter((s) => s.Resource === '*')
      .flatMap(actionsOf)
      .sort();
    expect(unscoped).toEqual(['cloudwatch:GetMetricData']);
    const dynamoResources = new Set(
      st
        .filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')))
        .flatMap((s) => [s.Resource].flat())
        .map((r) => JSON.stringify(r)),
    );
    expect([...dynamoResources]).toEqual([expect.stringMatching(/AutoscalerStateTable/)]);
    expect(st.flatMap(actionsOf).some((a) => a === '*' || a.endsWith(':*'))).toBe(false);
  });

  it('writes logs only to its own log group, through its own role', () => {
    const st = statements(shipped, 'AutoscalerRoleDefaultPolicy');
    expect(st.filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')))).toEqual([
      expect.objectContaining({ Resource: { 'Fn::GetAtt': [expect.stringMatching(/^AutoscalerLogs/), 'Arn'] } }),
    ]);
    for (const [id, role] of Object.entries(shipped.service.findResources('AWS::IAM::Role'))) {
      // Only the CDK's AwsCustomResource provider (InitialCount) uses the managed basic execution policy.
      if (id.startsWith('AWS679f53fac002430cb0da5b7982bd2287')) continue;
      expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
    }
  });
});
