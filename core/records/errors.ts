import { HttpError } from '../http/http-error.js';

/** The writing server is not (or no longer) the shard's primary: the write was fenced off. */
export class NotPrimaryError extends HttpError {
  override readonly name = 'NotPrimaryError';
  readonly code = 'NOT_PRIMARY';
  constructor(shardId: string, serverId: string) {
    super(409, 'Shard_id', `server ${serverId} is not the primary of shard ${shardId}`);
  }
}

export class DuplicateIdError extends HttpError {
  override readonly name = 'DuplicateIdError';
  readonly code = 'DUPLICATE_ID';
  constructor(readonly studId: number) {
    super(409, 'Stud_id', `${studId} already exists`);
  }
}

export class RecordNotFoundError extends HttpError {
  override readonly name = 'RecordNotFoundError';
  readonly code = 'NOT_FOUND';
  constructor(readonly studId: number) {
    super(404, 'Stud_id', `no record with Stud_id ${studId}`);
  }
}

export class AlreadyInitializedError extends HttpError {
  override readonly name = 'AlreadyInitializedError';
  readonly code = 'ALREADY_INITIALIZED';
  constructor() {
    super(409, undefined, 'the database is already initialized; /init runs once per set of tables');
  }
}
