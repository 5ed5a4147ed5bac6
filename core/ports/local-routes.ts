/**
 * Requests on the proxy's data port that something in the proxy answers
 * itself instead of forwarding (the records API's /init, /write, …). Both
 * data planes support it the same way: the routes claim a request by method
 * and target, the plane reads its body within `maxBodyBytes` and hands the
 * whole request over, then writes the answer in order with the connection's
 * other answers. The plane knows nothing of what the routes do.
 */
export interface LocalRequest {
  readonly method: string;
  /** The request target as sent, query included. */
  readonly url: string;
  /** The target's path, without the query. */
  readonly path: string;
  /** Header fields by lower-case name; a repeated field's values are joined with ", ". */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly remoteAddress: string;
  /** The whole body (empty when the request had none), never more than the routes' `maxBodyBytes`. */
  readonly body: Buffer;
}

export interface LocalReply {
  readonly status: number;
  /** JSON text: every local route answers `application/json`. */
  readonly json: string;
}

export interface LocalRoutes {
  /** Most body bytes the plane reads for a claimed request; a larger body is refused with 413 before `serve`. */
  readonly maxBodyBytes: number;
  /** True when these routes answer the request. Asked for every request on the data port, so it must be cheap. */
  claims(method: string, url: string): boolean;
  /** Answers a claimed request. Failures are answers too: it resolves with the error's status and JSON. */
  serve(request: LocalRequest): Promise<LocalReply>;
}
