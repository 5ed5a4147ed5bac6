import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { RemovalPolicy } from 'aws-cdk-lib';
import { BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { cdkKeys } from './table-keys.js';

export interface RingmasterTableProps {
  /** The key schema, as core declares it (TABLE_KEYS, AUTOSCALER_STATE_KEYS). */
  readonly keys: Pick<CreateTableCommandInput, 'AttributeDefinitions' | 'KeySchema'>;
  /**
   * Refuse deletion and keep the table when its stack is destroyed.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * Attribute holding an epoch-seconds expiry for DynamoDB TTL.
   * @default - no TTL
   */
  readonly timeToLiveAttribute?: string;
}

/**
 * One of Ringmaster's tables: on-demand (the load follows the fleet, which the
 * autoscaler changes every minute), point-in-time recovery, and a name chosen
 * by CloudFormation, so two environments share an account.
 */
export class RingmasterTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: RingmasterTableProps) {
    super(scope, id);
    if (props.timeToLiveAttribute !== undefined && !/^[A-Za-z0-9_.-]{1,255}$/.test(props.timeToLiveAttribute)) {
      throw new Error(
        `RingmasterTable ${id}: timeToLiveAttribute must be an attribute name, got "${props.timeToLiveAttribute}"`,
      );
    }
    const protect = props.deletionProtection ?? true;
    this.table = new Table(this, 'Table', {
      ...cdkKeys(props.keys),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: protect,
      removalPolicy: protect ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      ...(props.timeToLiveAttribute === undefined ? {} : { timeToLiveAttribute: props.timeToLiveAttribute }),
    });
  }
}
