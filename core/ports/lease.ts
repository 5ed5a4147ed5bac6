/**
 * Where a server keeps its membership lease: the proxy's lease registry
 * locally, the DynamoDB Ring table on AWS.
 */
export interface LeaseTarget {
  /** Registers or renews the lease; 'removed' when an operator took the server out (/rm). */
  beat(): Promise<'ok' | 'removed'>;
  /** Gives the lease up (clean shutdown). */
  leave(): Promise<void>;
}
