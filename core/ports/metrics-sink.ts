/**
 * Where periodic load figures go. Locally they are only exposed on the admin
 * API's /metrics; on AWS a CloudWatch sink publishes them for the autoscaler.
 */
export interface LoadSnapshot {
  readonly timestamp: Date;
  readonly requests: number;
  readonly errors5xx: number;
  readonly inflight: number;
  readonly healthyServers: number;
  readonly servers: number;
  readonly p99Ms: number;
}

export interface MetricsSink {
  publish(snapshot: LoadSnapshot): Promise<void>;
}

/** A sink that keeps nothing, for runs without a metrics backend. */
export const discardMetrics: MetricsSink = { publish: async () => {} };
