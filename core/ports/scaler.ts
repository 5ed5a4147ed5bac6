/**
 * Changes how many backend servers run. Locally it runs processes; on AWS it
 * changes the ECS service. The port is shaped around what both can honour:
 * an ECS service is sized by its desired count and names its own tasks, so
 * the caller sets a count, and may name new servers only where the
 * implementation says it can. Removing servers is by name, because /rm
 * drains particular servers and exactly those must stop.
 *
 * On ECS, `/add {"n": k}` raises the desired count by k and the new tasks
 * register under their own ids (task hostnames); hostnames given in `/add`
 * cannot be honoured there and are refused with a 400 naming the field.
 *
 * Servers register themselves once up, so the promises resolve when the
 * change was requested, not when traffic can flow.
 */
export interface Capacity {
  /** Servers asked for. */
  readonly desired: number;
  /** Servers running now. */
  readonly running: number;
  /** Servers started and not running yet (ECS PENDING tasks). */
  readonly pending: number;
  /** When the service was created (ECS), if known: the autoscaler's ledger uses it when its state is lost. */
  readonly createdMs?: number;
}

export interface Scaler {
  readonly kind: string;
  /** True when new servers can be given ids (local processes); ECS tasks take their own. */
  readonly namesServers: boolean;
  describe(): Promise<Capacity>;
  /**
   * Sets the desired count. When it grows and `namesServers` is true,
   * `newIds` names the new servers (exactly count - desired of them).
   */
  setDesiredCount(count: number, newIds?: readonly string[]): Promise<void>;
  /**
   * Stops exactly these servers (callers drain them first) and lowers the
   * desired count by as many; no other server stops.
   */
  removeServers(ids: readonly string[]): Promise<void>;
  /** Releases what the scaler holds; locally, stops every process it started. */
  close(): Promise<void>;
}

/** Error from a scaler, carrying the ids it was acting on. */
export class ScalerError extends Error {
  override readonly name = 'ScalerError';
  constructor(
    message: string,
    readonly ids: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
