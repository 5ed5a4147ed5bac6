/**
 * Starts and stops backend servers. Locally it runs processes; on AWS it
 * changes the ECS service. Servers register themselves once up, so `add`
 * resolves when the start was requested, not when traffic can flow.
 */
export interface Scaler {
  readonly kind: string;
  /** Starts servers with these ids. */
  add(ids: readonly string[]): Promise<void>;
  /** Stops these servers; callers drain them first. */
  remove(ids: readonly string[]): Promise<void>;
  /** Stops everything this scaler started (local runs only). */
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
