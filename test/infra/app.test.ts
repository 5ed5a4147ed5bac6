import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAppSettings } from '#infra/config.js';
import { EMULATOR_PLACEHOLDER_IMAGE } from '#infra/emulator.js';
import { createStacks } from '#infra/ringmaster-app.js';
import { root, type Synthesized, shippedConfig, synthesize } from './synth.js';

const run = promisify(execFile);

let real: Synthesized;
let emulator: Synthesized;

beforeAll(() => {
  real = synthesize();
  const config = shippedConfig();
  // NAT in the committed settings must still deploy to an emulator.
  config.natGateways = 1;
  emulator = synthesize({ config, emulator: true });
}, 120_000);

const templates = (s: Synthesized) => [s.data, s.service, s.monitoring];

function count(s: Synthesized, type: string): number {
  return templates(s).reduce((n, t) => n + Object.keys(t.findResources(type)).length, 0);
}

describe('the app', () => {
  it('passes cdk-nag AwsSolutions: no open finding, and every acknowledgement carries its reason', () => {
    const report = JSON.parse(readFileSync(join(real.app.outdir, 'validation-report.json'), 'utf8'));
    const [nag] = report.pluginReports;
    expect(nag).toMatchObject({ pluginName: 'AwsSolutions', conclusion: 'success', violations: [] });
    const acknowledged = nag.suppressedViolations as { ruleName: string; reason: string }[];
    expect([...new Set(acknowledged.map((v) => v.ruleName.replace(/\[.*\]$/, '')))].sort()).toEqual([
      'AwsSolutions-EC23',
      'AwsSolutions-ECS2',
      'AwsSolutions-ELB2',
      'AwsSolutions-IAM4',
      'AwsSolutions-IAM5',
      'AwsSolutions-SMG4',
      'AwsSolutions-VPC7',
    ]);
    for (const v of acknowledged) expect(v.reason.length, v.ruleName).toBeGreaterThan(40);
  });

  it('fails synth on a finding nobody acknowledged', () => {
    const app = new App({
      outdir: mkdtempSync(join(tmpdir(), 'ringmaster-nag-')),
      context: { ringmaster: shippedConfig() },
    });
    const stacks = createStacks(app, readAppSettings(app.node), root);
    new Bucket(stacks.data, 'Unacknowledged');
    expect(() => app.synth()).toThrow(/AwsSolutions-S1[\s\S]*Unacknowledged/);
  }, 60_000);

  it('names stacks after the environment and leaves every physical name to CloudFormation', () => {
    expect([real.stacks.data, real.stacks.service, real.stacks.monitoring].map((s) => s.stackName)).toEqual([
      'Ringmaster-dev-Data',
      'Ringmaster-dev-Service',
      'Ringmaster-dev-Monitoring',
    ]);
    const named =
      /"(TableName|FunctionName|ClusterName|ServiceName|TopicName|DashboardName|RoleName|LogGroupName|GroupName|SecretName)":"/;
    for (const t of templates(real)) {
      for (const [id, r] of Object.entries(
        t.toJSON().Resources as Record<string, { Type: string; Properties?: unknown }>,
      )) {
        expect(JSON.stringify(r.Properties ?? {}), id).not.toMatch(named);
      }
    }
  });

  it('passes values between stacks as references, with few exports', () => {
    const exports = (s: Stack) => Object.keys(Template.fromStack(s).findOutputs('*', { Export: {} })).length;
    // Data: the five table names and ARNs; Service, for the monitoring stack's alarms: the autoscaler's
    // name, the load balancer's (ARN and full name) and target group's, the cluster's and both services' names.
    expect(exports(real.stacks.data)).toBe(10);
    expect(exports(real.stacks.service)).toBe(7);
    expect(exports(real.stacks.monitoring)).toBe(0);
  });
});

describe('what emulators drop is in the real template', () => {
  it('keeps TTL, task-definition secrets and group-to-group rules', () => {
    real.data.hasResourceProperties('AWS::DynamoDB::Table', { TimeToLiveSpecification: { Enabled: true } });
    real.service.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Secrets: [Match.objectLike({ Name: 'ADMIN_TOKEN' })] })],
    });
    expect(count(real, 'AWS::EC2::SecurityGroupIngress')).toBeGreaterThan(0);
  });
});

describe('emulator deployments (-c emulator=true)', () => {
  it('have no separate security-group rule resources: ingress is inlined into the group', () => {
    expect(count(emulator, 'AWS::EC2::SecurityGroupIngress')).toBe(0);
    expect(count(emulator, 'AWS::EC2::SecurityGroupEgress')).toBe(0);
    const groups = emulator.service.findResources('AWS::EC2::SecurityGroup');
    const proxy = Object.entries(groups).find(([id]) => id.startsWith('ProxyServiceSecurityGroup'))?.[1];
    expect(proxy?.Properties.SecurityGroupIngress).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ CidrIp: '10.42.0.0/16', FromPort: 8081 }),
        expect.objectContaining({
          FromPort: 8080,
          SourceSecurityGroupId: {
            'Fn::GetAtt': [expect.stringMatching(/^ProxyLoadBalancerSecurityGroup/), 'GroupId'],
          },
        }),
      ]),
    );
  });

  it("publish the autoscaler's metrics with PutMetricData (emulators turn no log lines into metrics), scoped to the namespace", () => {
    const env = (s: Synthesized) =>
      Object.entries(s.service.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('Autoscaler'))?.[1]
        ?.Properties.Environment.Variables;
    expect(env(real).METRICS_OUTPUT).toBe('emf');
    expect(env(emulator).METRICS_OUTPUT).toBe('put-metric-data');
    const policy = Object.entries(emulator.service.findResources('AWS::IAM::Policy')).find(([id]) =>
      id.startsWith('AutoscalerRoleDefaultPolicy'),
    )?.[1];
    expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'Ringmaster' } },
      }),
    );
  });

  it('have no NAT gateway or Elastic IP even when the settings ask for one', () => {
    expect(count(emulator, 'AWS::EC2::NatGateway')).toBe(0);
    expect(count(emulator, 'AWS::EC2::EIP')).toBe(0);
  });

  it('alarm on a single metric where the real alarm uses metric math', () => {
    const alarms = Object.values(emulator.monitoring.findResources('AWS::CloudWatch::Alarm'));
    for (const a of alarms) expect(a.Properties.Metrics).toBeUndefined();
    emulator.monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Responses5xx',
      Statistic: 'Sum',
    });
  });

  it('set the initial counts as DesiredCount, with no custom resource (the emulator cannot run its handler)', () => {
    const services = Object.entries(emulator.service.findResources('AWS::ECS::Service'));
    expect(services.map(([id, r]) => [id.replace(/Service.*$/, ''), r.Properties.DesiredCount]).sort()).toEqual([
      ['Proxy', emulator.config.proxy.desiredCount],
      ['Servers', emulator.config.servers.initialCount],
    ]);
    expect(count(emulator, 'Custom::AWS')).toBe(0);
    expect(count(real, 'Custom::AWS')).toBe(2);
    const functions = Object.keys(emulator.service.findResources('AWS::Lambda::Function'));
    // The autoscaler and its failsafe; no custom-resource provider function.
    expect(functions.sort()).toEqual([
      expect.stringMatching(/^AutoscalerFailsafeFunction/),
      expect.stringMatching(/^AutoscalerFunction/),
    ]);
  });

  it('have no AWS Budgets budget (the emulator has no provisioner for one)', () => {
    expect(count(emulator, 'AWS::Budgets::Budget')).toBe(0);
    expect(count(real, 'AWS::Budgets::Budget')).toBe(1);
  });

  it('register the placeholder image instead of building one (no Docker engine)', () => {
    const images = Object.values(emulator.service.findResources('AWS::ECS::TaskDefinition')).map(
      (t) => (t.Properties.ContainerDefinitions as { Image: unknown }[])[0]?.Image,
    );
    expect(images).toEqual([EMULATOR_PLACEHOLDER_IMAGE, EMULATOR_PLACEHOLDER_IMAGE]);
    expect(count(real, 'AWS::ECS::TaskDefinition')).toBe(2);
  });
});

describe('cdk synth with a bad cdk.json value', () => {
  it('fails naming the key and the accepted range', async () => {
    const config = shippedConfig();
    config.autoscaler.budgetUsd = 0;
    config.servers.maxCount = 5000;
    // What `cdk synth` runs (cdk.json's app), with the context the CLI hands it.
    const attempt = run(process.execPath, [join(root, 'dist/infra/app.js')], {
      cwd: root,
      env: {
        ...process.env,
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'ringmaster-bad-')),
        CDK_CONTEXT_JSON: JSON.stringify({ ringmaster: config }),
      },
    });
    await expect(attempt).rejects.toMatchObject({
      stderr: expect.stringMatching(
        /ringmaster\.servers\.maxCount: expected a whole number from 1 to 1000[\s\S]*ringmaster\.autoscaler\.budgetUsd: expected a number from 1 to 1000000/,
      ),
    });
  });
});
