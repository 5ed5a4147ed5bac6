import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import {
  AwsLogDriver,
  type ContainerDefinition,
  type ContainerImage,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  type HealthCheck,
  type ICluster,
  OperatingSystemFamily,
  PropagatedTagSource,
  type Secret,
} from 'aws-cdk-lib/aws-ecs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEPLOY_MAX_HEALTHY_PERCENT } from '#core/config/deployment.js';
import { FARGATE_MAX_STOP_TIMEOUT_S } from '#core/config/proxy-timeouts.js';
import type { CpuArchitecture as PricedArchitecture } from '#core/pricing/fargate.js';
import { acknowledgeNag } from '../nag.js';
import { InitialCount } from './initial-count.js';

/**
 * Where and how big a tier's tasks run: what the proxy and server services
 * take from the stack and hand to their FargateTier unchanged.
 */
export type TierPlacement = Pick<
  FargateTierProps,
  'cluster' | 'image' | 'cpu' | 'memoryMiB' | 'architecture' | 'desiredCount' | 'taskSubnets' | 'assignPublicIp'
>;

export interface FargateTierProps {
  readonly cluster: ICluster;
  readonly image: ContainerImage;
  /** Task cpu units (256..4096) and memory (MiB), as validated in the deployment config. */
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly architecture: PricedArchitecture;
  /** The count the service starts with, set once at creation; the autoscaler owns it afterwards. */
  readonly desiredCount: number;
  /** Container ports, TCP. */
  readonly ports: readonly number[];
  readonly taskSubnets: SubnetSelection;
  readonly assignPublicIp: boolean;
  /** Plain settings only: anything secret goes in `secrets`. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Values ECS reads from Secrets Manager at task start.
   * @default - none
   */
  readonly secrets?: Readonly<Record<string, Secret>>;
  /**
   * Time between SIGTERM and SIGKILL; must cover the process's own drain.
   * @default Duration.seconds(60)
   */
  readonly stopTimeout?: Duration;
  /**
   * Grace before load-balancer health checks count after a task starts.
   * @default - none (only for services behind a load balancer)
   */
  readonly healthCheckGracePeriod?: Duration;
  /**
   * The container's own health check: ECS replaces a task whose check fails.
   * @default - none
   */
  readonly healthCheck?: HealthCheck;
  /**
   * Container log retention.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * One Fargate service with its task definition, container and log group:
 * rolling deployments that never drop below the running count, and a
 * circuit breaker that rolls a failing deployment back.
 */
export class FargateTier extends Construct {
  readonly service: FargateService;
  readonly taskDefinition: FargateTaskDefinition;
  readonly container: ContainerDefinition;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: FargateTierProps) {
    super(scope, id);
    const stopTimeout = props.stopTimeout ?? Duration.seconds(60);
    if (stopTimeout.toSeconds() < 2 || stopTimeout.toSeconds() > FARGATE_MAX_STOP_TIMEOUT_S) {
      throw new Error(
        `FargateTier ${id}: stopTimeout must be 2..${FARGATE_MAX_STOP_TIMEOUT_S} s, got ${stopTimeout.toSeconds()} s`,
      );
    }
    if (!Number.isInteger(props.desiredCount) || props.desiredCount < 0) {
      throw new Error(`FargateTier ${id}: desiredCount must be a whole number >= 0, got ${props.desiredCount}`);
    }
    if (props.ports.length === 0 || props.ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
      throw new Error(`FargateTier ${id}: ports must be 1..65535 and at least one, got [${props.ports.join(', ')}]`);
    }
    const clash = Object.keys(props.secrets ?? {}).find((name) => name in props.environment);
    if (clash !== undefined)
      throw new Error(`FargateTier ${id}: ${clash} is both a secret and a plain environment value`);

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.taskDefinition = new FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: props.architecture === 'arm64' ? CpuArchitecture.ARM64 : CpuArchitecture.X86_64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
    });
    this.container = this.taskDefinition.addContainer('app', {
      image: props.image,
      essential: true,
      environment: { ...props.environment },
      ...(props.secrets === undefined ? {} : { secrets: { ...props.secrets } }),
      portMappings: props.ports.map((containerPort) => ({ containerPort })),
      logging: new AwsLogDriver({ logGroup: this.logGroup, streamPrefix: id.toLowerCase() }),
      stopTimeout,
      ...(props.healthCheck === undefined ? {} : { healthCheck: props.healthCheck }),
    });
    this.service = new FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.desiredCount,
      vpcSubnets: props.taskSubnets,
      assignPublicIp: props.assignPublicIp,
      minHealthyPercent: 100,
      maxHealthyPercent: DEPLOY_MAX_HEALTHY_PERCENT,
      circuitBreaker: { enable: true, rollback: true },
      // Fargate bills per task: the tasks themselves must carry the cost-allocation tag the budget filters on.
      propagateTags: PropagatedTagSource.SERVICE,
      ...(props.healthCheckGracePeriod === undefined ? {} : { healthCheckGracePeriod: props.healthCheckGracePeriod }),
    });
    // The count is set once, at creation; no DesiredCount in the template (see InitialCount).
    new InitialCount(this, 'InitialCount', {
      cluster: props.cluster,
      service: this.service,
      count: props.desiredCount,
    });
    acknowledgeNag(
      this.taskDefinition,
      'AwsSolutions-ECS2',
      'Plain environment values are table names and tuning settings, none secret; secrets go through `secrets` (Secrets Manager), and the constructor refuses a name in both.',
    );
    const executionPolicy = this.taskDefinition.obtainExecutionRole();
    acknowledgeNag(
      executionPolicy,
      'AwsSolutions-IAM5[Resource::*]',
      'The execution role pulls the image: ecr:GetAuthorizationToken has no resource type, so it can only be granted on "*". Repository, log and secret permissions are scoped to their ARNs.',
    );
  }
}
