import { DomainError } from '../errors/domain-error.js';

/** The writing server is not (or no longer) the shard's primary: the write was fenced off. */
export class NotPrimaryError extends DomainError {
  override readonly name = 'NotPrimaryError';
  constructor(shardId: string, serverId: string) {
    super('NOT_PRIMARY', 'Shard_id', `server ${serverId} is not the primary of shard ${shardId}`);
  }
}

export class DuplicateIdError extends DomainError {
  override readonly name = 'DuplicateIdError';
  constructor(readonly recordId: number) {
    super('DUPLICATE_ID', 'Stud_id', `${recordId} already exists`);
  }
}

export class RecordNotFoundError extends DomainError {
  override readonly name = 'RecordNotFoundError';
  constructor(readonly recordId: number) {
    super('NOT_FOUND', 'Stud_id', `no record with Stud_id ${recordId}`);
  }
}

export class AlreadyInitializedError extends DomainError {
  override readonly name = 'AlreadyInitializedError';
  constructor() {
    super('ALREADY_INITIALIZED', undefined, 'the database is already initialized; /init runs once per set of tables');
  }
}
