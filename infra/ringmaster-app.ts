import type { App } from 'aws-cdk-lib';
import { Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { repoRoot } from '#devkit/repo-root.js';
import type { AppSettings } from './config.js';
import { COST_ALLOCATION_TAG } from './constructs/cost-budget.js';
import { applyEmulatorAdaptations, emulatorConfig } from './emulator.js';
import { DataStack } from './stacks/data-stack.js';
import { MonitoringStack } from './stacks/monitoring-stack.js';
import { ServiceStack } from './stacks/service-stack.js';

export interface RingmasterStacks {
  readonly data: DataStack;
  readonly service: ServiceStack;
  readonly monitoring: MonitoringStack;
}

/**
 * Ringmaster's three stacks, ids carrying the environment name so two copies
 * live in one account. cdk-nag (AwsSolutions) checks every synth.
 */
export function createStacks(app: App, settings: AppSettings, projectRoot: string = repoRoot()): RingmasterStacks {
  const config = settings.emulator ? emulatorConfig(settings.config) : settings.config;
  const prefix = `Ringmaster-${config.envName}`;
  const description = (what: string) => `Ringmaster ${config.envName}: ${what}`;
  const data = new DataStack(app, `${prefix}-Data`, {
    description: description('DynamoDB tables (Ring, ShardT, MapT, Records, autoscaler state)'),
    deletionProtection: config.deletionProtection,
  });
  const service = new ServiceStack(app, `${prefix}-Service`, {
    description: description('VPC, ECS cluster, proxy and server services, load balancer, autoscaler'),
    config,
    tables: data.tables,
    projectRoot,
  });
  const monitoring = new MonitoringStack(app, `${prefix}-Monitoring`, {
    description: description('dashboard, alarms and their SNS topic'),
    config,
    autoscaler: service.autoscaler.function,
    loadBalancer: service.proxy.loadBalancer,
    targetGroup: service.proxy.targetGroup,
    cluster: service.cluster,
    proxyService: service.proxy.tier.service,
    serverService: service.servers.tier.service,
  });
  // Every taggable resource (and each stack) carries the cost-allocation tag the budget filters on.
  Tags.of(app).add(COST_ALLOCATION_TAG, config.envName);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  if (settings.emulator) applyEmulatorAdaptations(app);
  return { data, service, monitoring };
}
