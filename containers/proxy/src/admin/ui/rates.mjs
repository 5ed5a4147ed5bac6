// Requests per second, from the change in each server's request counter
// between two snapshots. The proxy keeps only counters (nothing extra per
// request), so rates are the page's job.

/** Seconds of history the rate chart shows. */
export const HISTORY_SECONDS = 60;

export class RateTracker {
  #previous = undefined;
  /** [{ at (epoch s), total, byServer: Map(id → rate) }], oldest first. */
  history = [];
  /** The latest rates: Map(id → requests/s or null when unknown). */
  byServer = new Map();
  total = null;

  update(report) {
    const previous = this.#previous;
    const seconds = previous ? (report.takenAt - previous.takenAt) / 1000 : 0;
    const byServer = new Map();
    for (const server of report.servers) {
      const before = previous?.servers.get(server.id);
      // A restarted server (same id, new address) starts its count again: no rate for that step.
      const comparable = before && before.address === server.address && server.requests >= before.requests;
      byServer.set(server.id, comparable && seconds > 0 ? (server.requests - before.requests) / seconds : null);
    }
    this.total =
      previous && seconds > 0 && report.totals.requests >= previous.requests
        ? (report.totals.requests - previous.requests) / seconds
        : null;
    this.byServer = byServer;
    this.#previous = {
      takenAt: report.takenAt,
      requests: report.totals.requests,
      servers: new Map(report.servers.map((s) => [s.id, { address: s.address, requests: s.requests }])),
    };
    if (seconds > 0) {
      this.history.push({ at: report.takenAt / 1000, total: this.total, byServer });
      const oldest = report.takenAt / 1000 - HISTORY_SECONDS;
      while (this.history.length > 0 && this.history[0].at < oldest) this.history.shift();
    }
  }
}
