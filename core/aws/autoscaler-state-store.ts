import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

/** The one item holding the autoscaler's state (the table's key schema is pk/sk, see tables.ts). */
const STATE_KEY = { pk: 'autoscaler', sk: 'state' } as const;
/** Decisions kept on the item for the status page and operators (the log has all of them). */
export const MAX_RECENT_DECISIONS = 20;

/** One decision as operators see it. */
export interface DecisionRecord {
  readonly atMs: number;
  readonly service: string;
  readonly from: number;
  readonly to: number;
  readonly budgetLimited: boolean;
  readonly reason: string;
}

/** What operators see of the last tick: counts per service and the budget, written with the state. */
export interface TickSummary {
  readonly atMs: number;
  readonly services: readonly {
    readonly name: string;
    readonly desired: number;
    readonly running: number;
    readonly pending: number;
  }[];
  readonly budget: {
    readonly budgetUsd: number;
    readonly spendUsd: number;
    readonly remainingUsd: number;
    readonly projectedSpendUsd: number;
    /**
     * The money left cannot pay the minimum counts to the period's end: both
     * tiers sit at their minimum and the budget will be overrun (metric
     * BelowMinimum). Absent in summaries written before it existed.
     */
    readonly belowMinimum?: boolean;
    /** Dollars left beyond the safety margin, the overhead and the minimum counts to the period's end. */
    readonly extraUsd?: number;
  };
  /**
   * Per service, what capacity added outside the autoscaler (the admin API's
   * /add) may reach: the budget's hard cap at this tick and maxCount, and
   * what a task costs. Absent in summaries written before it existed.
   */
  readonly addLimits?: Readonly<Record<string, AddLimit>>;
}

/** How far a service may be raised by hand, as the last tick saw it. */
export interface AddLimit {
  readonly maxCount: number;
  /** The highest count the budget's hard cap allowed at this tick. */
  readonly budgetCap: number;
  /** Dollars one more task costs per hour (Fargate plus any per-task add-on). */
  readonly usdPerTaskHour: number;
}

export interface StoredState {
  /** The policy's persisted state, as it wrote it (parsed by the caller). */
  readonly state: unknown;
  /** The item's version: the next write must name it. 0 when there is no item yet. */
  readonly version: number;
  readonly decisions: readonly DecisionRecord[];
  /** The last committed tick's summary, absent before the first. */
  readonly summary?: TickSummary;
}

/** Another invocation committed first: this tick's decision must not be applied. */
export class StateConflictError extends Error {
  override readonly name = 'StateConflictError';
}

/**
 * The autoscaler's state in DynamoDB: read strongly consistent, written only
 * if the version is still the one read. Two overlapping invocations both read
 * version n; exactly one writes n + 1, the other gets StateConflictError and
 * applies nothing, so spend is never counted twice and no decision is applied
 * twice. The condition is a plain comparison, which real DynamoDB accepts
 * (MiniStack also accepts arithmetic in conditions; AWS does not).
 */
export class AutoscalerStateStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async load(): Promise<StoredState> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: STATE_KEY, ConsistentRead: true }),
    );
    const item = out.Item;
    if (!item) return { state: undefined, version: 0, decisions: [] };
    return {
      state: item.state,
      version: Number(item.version),
      decisions: Array.isArray(item.decisions) ? (item.decisions as DecisionRecord[]) : [],
      ...(item.summary ? { summary: item.summary as TickSummary } : {}),
    };
  }

  /** Writes `state` as version `expectedVersion + 1`, with `newDecisions` prepended to the recent ones. */
  async commit(
    expectedVersion: number,
    state: unknown,
    recent: readonly DecisionRecord[],
    newDecisions: readonly DecisionRecord[],
    summary?: TickSummary,
  ): Promise<void> {
    const decisions = [...newDecisions, ...recent].slice(0, MAX_RECENT_DECISIONS);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...STATE_KEY, version: expectedVersion + 1, state, decisions, ...(summary ? { summary } : {}) },
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'version = :expected',
                ExpressionAttributeValues: { ':expected': expectedVersion },
              }),
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        throw new StateConflictError(`autoscaler state moved past version ${expectedVersion}`, { cause: err });
      }
      throw err;
    }
  }
}
