/**
 * Everything an emulator deployment (`-c emulator=true`: MiniStack, or a
 * user's LocalStack) does differently from a real one, in this one file. The
 * real template is never changed for an emulator's sake.
 *
 * What MiniStack 1.5.33 does (see TOOLCHAIN.md):
 * - it rejects AWS::EC2::SecurityGroupIngress and SecurityGroupEgress, which
 *   the CDK emits for rules between two security groups: ingress rules are
 *   folded into the target group's inline rules, and group-to-group egress
 *   rules are dropped (inlining both directions would make the two groups
 *   reference each other, a cycle; the emulator enforces no rules anyway);
 * - it rejects NAT gateways and their Elastic IPs: natGateways becomes 0;
 * - it has no Docker engine, so images cannot be built: a tier without an
 *   `image` gets EMULATOR_PLACEHOLDER_IMAGE (no containers run there; tasks
 *   are records).
 * - it rejects alarms on metric math: see SingleMetricAlarms;
 * - it turns no log lines into metrics, so the autoscaler's embedded-metric
 *   output would be lost: it publishes with PutMetricData instead;
 * - its local Lambda runtime substitutes stub SDK modules that list no
 *   exports, so the CDK's AwsCustomResource handler finds no ECS client ("No
 *   client constructor found within package: @aws-sdk/client-ecs"): the
 *   services' initial counts go into the template as DesiredCount instead of
 *   the InitialCount custom resource (the real template has no DesiredCount);
 * - it has no AWS::Budgets::Budget provisioner: the budget is dropped.
 * It also accepts and silently drops table TTL, task-definition secrets and
 * ExcludePunctuation; nothing to adapt, and the
 * infra tests assert those on the real template.
 */
import { Aspects, type IAspect, Stack } from 'aws-cdk-lib';
import { CfnBudget } from 'aws-cdk-lib/aws-budgets';
import { CfnAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { CfnSecurityGroup, CfnSecurityGroupEgress, CfnSecurityGroupIngress } from 'aws-cdk-lib/aws-ec2';
import type { IConstruct } from 'constructs';
import type { DeploymentConfig } from '#core/config/deployment.js';
import { AutoscalerFunction } from './constructs/autoscaler-function.js';
import { InitialCount } from './constructs/initial-count.js';

/** The image emulator tasks are registered with when none is configured: the Dockerfiles' base image. */
export const EMULATOR_PLACEHOLDER_IMAGE = 'public.ecr.aws/docker/library/node:24.21.0-alpine3.24';

/** The settings an emulator can deploy. */
export function emulatorConfig(config: DeploymentConfig): DeploymentConfig {
  return {
    ...config,
    natGateways: 0,
    proxy: { ...config.proxy, image: config.proxy.image ?? EMULATOR_PLACEHOLDER_IMAGE },
    servers: { ...config.servers, image: config.servers.image ?? EMULATOR_PLACEHOLDER_IMAGE },
  };
}

/** Rewrites group-to-group security-group rules into forms the emulator accepts. */
export class InlineSecurityGroupRules implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof CfnSecurityGroupEgress && node.destinationSecurityGroupId !== undefined) {
      remove(node);
      return;
    }
    if (!(node instanceof CfnSecurityGroupIngress)) return;
    const stack = Stack.of(node);
    const target = ownerGroup(stack, stack.resolve(node.groupId));
    const inline: unknown = stack.resolve(target.securityGroupIngress) ?? [];
    const rule: CfnSecurityGroup.IngressProperty = {
      ipProtocol: node.ipProtocol,
      fromPort: node.fromPort,
      toPort: node.toPort,
      sourceSecurityGroupId: node.sourceSecurityGroupId,
      cidrIp: node.cidrIp,
      description: node.description,
    };
    target.securityGroupIngress = [...(Array.isArray(inline) ? inline : [inline]), rule];
    remove(node);
  }
}

/**
 * MiniStack rejects alarms on metric math ("Properties.Metrics (metric math)
 * is not supported"). An emulator alarm watches the expression's first
 * metric instead, with the same threshold: for the 5xx-rate alarm that is the
 * 5xx count. Only the alarm's wiring is exercised there, never its meaning.
 */
export class SingleMetricAlarms implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof CfnAlarm) || node.metrics === undefined) return;
    const queries: unknown = Stack.of(node).resolve(node.metrics);
    const first = (Array.isArray(queries) ? (queries as CfnAlarm.MetricDataQueryProperty[]) : []).find(
      (q) => q.metricStat !== undefined,
    );
    const stat = first?.metricStat as CfnAlarm.MetricStatProperty | undefined;
    const metric = stat?.metric as CfnAlarm.MetricProperty | undefined;
    if (stat === undefined || metric === undefined) {
      throw new Error(`emulator: alarm ${node.node.path} has metric math without a metric to fall back to`);
    }
    node.metrics = undefined;
    node.metricName = metric.metricName;
    node.namespace = metric.namespace;
    node.dimensions = metric.dimensions;
    node.period = stat.period;
    if (/^p\d/.test(stat.stat)) node.extendedStatistic = stat.stat;
    else node.statistic = stat.stat;
  }
}

/** MiniStack has no AWS::Budgets provisioner ("Unsupported resource type"): the budget stays in the real template only. */
export class DropBudgets implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof CfnBudget) remove(node);
  }
}

/** Adapts everything under `scope` (the app) for an emulator deployment. */
export function applyEmulatorAdaptations(scope: IConstruct): void {
  Aspects.of(scope).add(new InlineSecurityGroupRules());
  Aspects.of(scope).add(new SingleMetricAlarms());
  Aspects.of(scope).add(new DropBudgets());
  for (const node of scope.node.findAll()) {
    if (node instanceof AutoscalerFunction) node.publishMetricsThroughApi();
    if (node instanceof InitialCount) node.setInTemplateInstead();
  }
}

function ownerGroup(stack: Stack, groupId: unknown): CfnSecurityGroup {
  const logicalId = (groupId as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
  const group = stack.node
    .findAll()
    .find((c): c is CfnSecurityGroup => c instanceof CfnSecurityGroup && stack.resolve(c.logicalId) === logicalId);
  if (group === undefined) {
    throw new Error(
      `emulator: cannot inline a rule for group ${JSON.stringify(groupId)}: not a group of ${stack.stackName}`,
    );
  }
  return group;
}

function remove(node: IConstruct): void {
  const parent = node.node.scope;
  if (parent === undefined || !parent.node.tryRemoveChild(node.node.id)) {
    throw new Error(`emulator: could not remove ${node.node.path}`);
  }
}
