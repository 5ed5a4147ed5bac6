import { z } from 'zod';
import { DomainError } from '../errors/domain-error.js';

/** The key column every schema has: the record id, under the name the seed's scripts send. */
export const KEY_COLUMN = 'Stud_id';
/** Longest String value stored. */
export const MAX_STRING_LENGTH = 4096;
/** Largest record id accepted: integers beyond this lose precision as JSON numbers. */
export const MAX_RECORD_ID = Number.MAX_SAFE_INTEGER;
/** DynamoDB TransactWriteItems takes 100 items; one is the primary check and one the valid_idx update. */
export const MAX_ROWS_PER_SHARD_WRITE = 98;
/** Attributes the store keeps beside the columns; a schema may not use these names. */
export const RESERVED_COLUMNS = ['Shard_id', 'version'] as const;

export type Dtype = 'Number' | 'String';
export interface Schema {
  readonly columns: readonly string[];
  readonly dtypes: readonly Dtype[];
}
export type Row = Record<string, number | string>;

const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const schemaSchema = z
  .object(
    {
      columns: z
        .array(z.string().regex(COLUMN_NAME, { error: 'expected a column name (letters, digits, _; at most 64)' }), {
          error: 'expected an array of column names',
        })
        .min(1, { error: 'must list at least one column' })
        .max(64, { error: 'at most 64 columns' }),
      dtypes: z.array(z.enum(['Number', 'String'], { error: 'expected "Number" or "String"' }), {
        error: 'expected an array of "Number" or "String"',
      }),
    },
    { error: 'expected {"columns": [...], "dtypes": [...]}' },
  )
  .strict()
  .superRefine((s, ctx) => {
    if (s.dtypes.length !== s.columns.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['dtypes'],
        message: `has ${s.dtypes.length} entries for ${s.columns.length} columns`,
      });
    }
    const seen = new Set<string>();
    s.columns.forEach((c, i) => {
      if (seen.has(c)) ctx.addIssue({ code: 'custom', path: ['columns', i], message: `"${c}" is listed twice` });
      if ((RESERVED_COLUMNS as readonly string[]).includes(c)) {
        ctx.addIssue({ code: 'custom', path: ['columns', i], message: `"${c}" is reserved` });
      }
      seen.add(c);
    });
    const key = s.columns.indexOf(KEY_COLUMN);
    if (key < 0) ctx.addIssue({ code: 'custom', path: ['columns'], message: `must include ${KEY_COLUMN}` });
    else if (s.dtypes[key] !== 'Number') {
      ctx.addIssue({ code: 'custom', path: ['dtypes', key], message: `${KEY_COLUMN} must be "Number"` });
    }
  });

/** Checks one value against its column type; returns the reason it is wrong, or undefined. */
function valueProblem(value: unknown, dtype: Dtype, column: string): string | undefined {
  if (dtype === 'Number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) return `expected a number, got ${describe(value)}`;
    if (column === KEY_COLUMN && (!Number.isInteger(value) || value < 0 || value > MAX_RECORD_ID)) {
      return `expected a whole number from 0 to ${MAX_RECORD_ID}`;
    }
    return undefined;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return undefined;
  if (typeof value !== 'string') return `expected a string, got ${describe(value)}`;
  if (value.length > MAX_STRING_LENGTH) return `longer than ${MAX_STRING_LENGTH} characters`;
  return undefined;
}

/**
 * A valid value as stored. A String column takes a number too, kept as its
 * decimal text: the seed declares marks a String column and writes numbers
 * into it (`"Stud_marks": 27`), which the seed's MySQL VARCHAR column
 * accepted and read back as text.
 */
function stored(value: unknown, dtype: Dtype): number | string {
  return dtype === 'String' && typeof value === 'number' ? String(value) : (value as number | string);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string'
    ? `"${value.slice(0, 20)}"`
    : typeof value === 'object'
      ? 'an object'
      : String(value);
}

/**
 * Validates a full row (every column present, no others) and returns it typed;
 * throws an INVALID_INPUT DomainError naming `<path>.<column>` and the reason.
 */
export function validateRow(schema: Schema, value: unknown, path: string): Row {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DomainError('INVALID_INPUT', path, 'expected an object with the schema’s columns');
  }
  const row = value as Record<string, unknown>;
  for (const key of Object.keys(row)) {
    if (!schema.columns.includes(key)) throw new DomainError('INVALID_INPUT', `${path}.${key}`, 'unknown column');
  }
  const out: Row = {};
  schema.columns.forEach((column, i) => {
    if (!(column in row)) throw new DomainError('INVALID_INPUT', `${path}.${column}`, 'missing');
    const problem = valueProblem(row[column], schema.dtypes[i] as Dtype, column);
    if (problem) throw new DomainError('INVALID_INPUT', `${path}.${column}`, problem);
    out[column] = stored(row[column], schema.dtypes[i] as Dtype);
  });
  return out;
}

/**
 * Validates the columns of an update: any non-empty subset of the schema.
 * Stud_id may be present but must equal the record being updated.
 */
export function validatePatch(schema: Schema, value: unknown, path: string, recordId: number): Row {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DomainError('INVALID_INPUT', path, 'expected an object of columns to change');
  }
  const patch = value as Record<string, unknown>;
  const out: Row = {};
  for (const [key, v] of Object.entries(patch)) {
    const i = schema.columns.indexOf(key);
    if (i < 0) throw new DomainError('INVALID_INPUT', `${path}.${key}`, 'unknown column');
    if (key === KEY_COLUMN) {
      if (v !== recordId)
        throw new DomainError(
          'INVALID_INPUT',
          `${path}.${KEY_COLUMN}`,
          `cannot change ${KEY_COLUMN} (${recordId} to ${describe(v)})`,
        );
      continue;
    }
    const problem = valueProblem(v, schema.dtypes[i] as Dtype, key);
    if (problem) throw new DomainError('INVALID_INPUT', `${path}.${key}`, problem);
    out[key] = stored(v, schema.dtypes[i] as Dtype);
  }
  if (Object.keys(out).length === 0) throw new DomainError('INVALID_INPUT', path, 'names no column to change');
  return out;
}
