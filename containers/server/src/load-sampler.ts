/** How often cpu use is sampled. */
const SAMPLE_INTERVAL_MS = 1000;

/**
 * The server's own load, reported in /heartbeat for resource-aware
 * balancing: cpu as the fraction of one core used over the last second,
 * memory as resident set over the memory limit.
 */
export class LoadSampler {
  cpu = 0;
  private lastCpu = process.cpuUsage();
  private lastAt = performance.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly memoryLimitBytes: number) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get memory(): number {
    return Math.min(1, process.memoryUsage.rss() / this.memoryLimitBytes);
  }

  private sample(): void {
    const now = performance.now();
    const usage = process.cpuUsage(this.lastCpu);
    const busyMs = (usage.user + usage.system) / 1000;
    this.cpu = Math.min(1, busyMs / Math.max(1, now - this.lastAt));
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
  }
}
