import {
  GatewayVpcEndpointAwsService,
  IpAddresses,
  type IVpc,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';

/** The VPC's range, as a literal so security-group rules (and cdk-nag) can read it. */
export const VPC_CIDR = '10.42.0.0/16';

export interface NetworkProps {
  /**
   * NAT gateways. With none, tasks run in public subnets with public
   * addresses (about $3.60 a month each) instead of paying about $33 a month
   * per gateway plus data processing.
   * @default 0
   */
  readonly natGateways?: number;
  /**
   * Availability zones; the load balancer needs two.
   * @default 2
   */
  readonly maxAzs?: number;
}

/** The VPC, and where tasks go in it. */
export class Network extends Construct {
  readonly vpc: IVpc;
  /** Where the Fargate tasks run. */
  readonly taskSubnets: SubnetSelection;
  /** Whether tasks need a public address to reach ECR, DynamoDB, CloudWatch and Secrets Manager. */
  readonly assignPublicIp: boolean;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    const natGateways = props.natGateways ?? 0;
    const maxAzs = props.maxAzs ?? 2;
    if (!Number.isInteger(natGateways) || natGateways < 0 || natGateways > maxAzs) {
      throw new Error(`Network: natGateways must be a whole number from 0 to maxAzs (${maxAzs}), got ${natGateways}`);
    }
    if (!Number.isInteger(maxAzs) || maxAzs < 2) {
      throw new Error(`Network: maxAzs must be at least 2 (the load balancer spans two zones), got ${maxAzs}`);
    }
    const privateTasks = natGateways > 0;
    this.vpc = new Vpc(this, 'Vpc', {
      ipAddresses: IpAddresses.cidr(VPC_CIDR),
      maxAzs,
      natGateways,
      // The default-group lockdown is a custom resource (a Lambda); nothing here uses the default group.
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        ...(privateTasks ? [{ name: 'tasks', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 }] : []),
      ],
    });
    acknowledgeNag(
      this.vpc,
      'AwsSolutions-VPC7',
      'Flow logs bill per GB ingested, a visible share of a small budget; nothing here needs packet-level audit. Add Vpc.addFlowLog when it does.',
    );
    if (privateTasks) {
      // Every proxy scans three tables every second: through NAT that traffic would bill per GB. The gateway endpoint is free.
      this.vpc.addGatewayEndpoint('DynamoDb', { service: GatewayVpcEndpointAwsService.DYNAMODB });
    }
    this.taskSubnets = { subnetType: privateTasks ? SubnetType.PRIVATE_WITH_EGRESS : SubnetType.PUBLIC };
    this.assignPublicIp = !privateTasks;
  }
}
