import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUTOSCALER_METRICS } from '#core/telemetry/metric-names.js';
import { type Synthesized, shippedConfig, synthesize } from './synth.js';

let s: Synthesized;
beforeAll(() => {
  const config = shippedConfig();
  // Not the default, so the template shows the setting at work.
  (config.autoscaler as Record<string, unknown>).failsafeAfterMinutes = 12;
  s = synthesize({ config });
}, 120_000);

type Resource = { Properties: Record<string, unknown> };
const byPrefix = (type: string, prefix: string): [string, Resource][] =>
  Object.entries(s.service.findResources(type)).filter(([id]) => id.startsWith(prefix)) as [string, Resource][];

describe('the autoscaler failsafe on the template', () => {
  it('an alarm on missing Ticks for failsafeAfterMinutes invokes the failsafe function', () => {
    const alarms = byPrefix('AWS::CloudWatch::Alarm', 'AutoscalerFailsafe');
    expect(alarms).toHaveLength(1);
    const [, alarm] = alarms[0] as [string, Resource];
    expect(alarm.Properties).toMatchObject({
      MetricName: AUTOSCALER_METRICS.ticks,
      Namespace: s.config.monitoring.metricsNamespace,
      Dimensions: [{ Name: 'Environment', Value: s.config.envName }],
      Statistic: 'Sum',
      Period: 60 * s.config.autoscaler.scheduleMinutes,
      EvaluationPeriods: 12,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    const [[fnId]] = byPrefix('AWS::Lambda::Function', 'AutoscalerFailsafeFunction') as [[string, Resource]];
    expect(alarm.Properties.AlarmActions).toEqual([{ 'Fn::GetAtt': [fnId, 'Arn'] }]);
    s.service.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      Principal: 'lambda.alarms.cloudwatch.amazonaws.com',
    });
  });

  it('the failsafe function knows only the services and their minimum counts', () => {
    const [[, fn]] = byPrefix('AWS::Lambda::Function', 'AutoscalerFailsafeFunction') as [[string, Resource]];
    const vars = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(vars).sort()).toEqual(
      [
        'CLUSTER_NAME',
        'NODE_OPTIONS',
        'PROXY_MIN_COUNT',
        'PROXY_SERVICE_NAME',
        'SERVER_MIN_COUNT',
        'SERVER_SERVICE_NAME',
      ].sort(),
    );
    expect(vars.PROXY_MIN_COUNT).toBe(String(s.config.proxy.minCount));
    expect(vars.SERVER_MIN_COUNT).toBe(String(s.config.servers.minCount));
    // Its own role: ECS on the two services and its log group, nothing of the tick's.
    const [[, policy]] = byPrefix('AWS::IAM::Policy', 'AutoscalerFailsafeRoleDefaultPolicy') as [[string, Resource]];
    const statements = (policy.Properties.PolicyDocument as { Statement: { Action: unknown }[] }).Statement;
    expect(statements.map((st) => st.Action)).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      ['ecs:DescribeServices', 'ecs:UpdateService'],
    ]);
  });

  it('the autoscaler may list and describe its cluster’s tasks for the ledger, and only those', () => {
    s.service.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'ecs:ListTasks',
            Resource: '*',
            Condition: { ArnEquals: { 'ecs:cluster': Match.anyValue() } },
          }),
          Match.objectLike({
            Action: 'ecs:DescribeTasks',
            Condition: { ArnEquals: { 'ecs:cluster': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('pages when the budget cannot pay the minimum counts', () => {
    s.monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: AUTOSCALER_METRICS.belowMinimum,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});
