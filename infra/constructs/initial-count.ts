import { Stack } from 'aws-cdk-lib';
import type { CfnService, FargateService, ICluster } from 'aws-cdk-lib/aws-ecs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import { acknowledgeNag } from '../nag.js';

export interface InitialCountProps {
  readonly cluster: ICluster;
  readonly service: FargateService;
  /** The count the service starts with; the autoscaler (and the admin API) own it afterwards. */
  readonly count: number;
}

/**
 * Sets a service's desired count when it is created, and leaves it alone on
 * later deploys.
 *
 * A `DesiredCount` in the template is re-applied by every deploy that updates
 * the service, so a change to a task definition would put a fleet the
 * autoscaler grew to 8 back to 2, under load. Without one, CloudFormation
 * creates the service with one task and leaves the count alone on updates;
 * this custom resource then calls ecs:UpdateService when the service is
 * created (or replaced), and when the configured count itself changes.
 */
export class InitialCount extends Construct {
  private readonly service: FargateService;
  private readonly count: number;
  private call: AwsCustomResource | undefined;

  constructor(scope: Construct, id: string, props: InitialCountProps) {
    super(scope, id);
    if (!Number.isInteger(props.count) || props.count < 0) {
      throw new Error(`InitialCount ${id}: count must be a whole number >= 0, got ${props.count}`);
    }
    this.service = props.service;
    this.count = props.count;
    (props.service.node.defaultChild as CfnService).desiredCount = undefined;
    const setCount = {
      service: 'ECS',
      action: 'UpdateService',
      parameters: {
        cluster: props.cluster.clusterName,
        service: props.service.serviceName,
        desiredCount: props.count,
      },
      physicalResourceId: PhysicalResourceId.of(`initial-count-${id}`),
    };
    this.call = new AwsCustomResource(this, 'SetOnCreate', {
      onCreate: setCount,
      // Its properties name only the cluster, the service and the count, so CloudFormation sends an
      // Update only when the service was replaced (a new name) or the configured count changed;
      // a task-definition or image change leaves this resource, and the running count, alone.
      onUpdate: setCount,
      policy: AwsCustomResourcePolicy.fromStatements([
        new PolicyStatement({ actions: ['ecs:UpdateService'], resources: [props.service.serviceArn] }),
      ]),
      installLatestAwsSdk: false,
    });
    // No explicit dependency on the service: the call's GetAtt of its name already orders it after it.
    const provider = providerOf(this);
    if (provider === undefined) throw new Error(`InitialCount ${id}: no AwsCustomResource provider in the stack`);
    acknowledgeNag(
      provider,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "The CDK's AwsCustomResource provider logs through the AWS-managed basic execution policy; its only other grant is ecs:UpdateService on the two service ARNs.",
    );
  }

  /**
   * For emulators whose Lambda runtime cannot run the CDK's custom-resource
   * handler (MiniStack's stub SDK modules list no exports, and a deploy with
   * the custom resource fails with "No client constructor found within
   * package: @aws-sdk/client-ecs"): the count goes back into the template.
   */
  setInTemplateInstead(): void {
    (this.service.node.defaultChild as CfnService).desiredCount = this.count;
    if (this.call !== undefined) this.node.tryRemoveChild(this.call.node.id);
    this.call = undefined;
    // The provider Lambda serves no one once every call is gone.
    const stack = Stack.of(this);
    const provider = providerOf(this);
    const callsLeft = stack.node.findAll().some((c) => c instanceof AwsCustomResource);
    if (provider !== undefined && !callsLeft) stack.node.tryRemoveChild(provider.node.id);
  }
}

/** The stack-level Lambda the CDK runs every AwsCustomResource call in (a SingletonFunction). */
function providerOf(scope: Construct): IConstruct | undefined {
  return Stack.of(scope).node.tryFindChild(`AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
}
