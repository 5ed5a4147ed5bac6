import {
  ClusterNotFoundException,
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';

/** One Fargate service as the local run creates it on the emulator: a record the autoscaler resizes. */
export interface LocalServiceSpec {
  readonly name: string;
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly desiredCount: number;
}

/**
 * Creates (or, on an emulator that already has them, resets to the given
 * counts) an ECS cluster and its services. No container runs on an emulator:
 * the tasks are records, and the local run's processes follow their count.
 */
export async function createLocalServices(
  ecs: ECSClient,
  cluster: string,
  services: readonly LocalServiceSpec[],
): Promise<void> {
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  for (const s of services) {
    const family = `${cluster}-${s.name}`;
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(s.cpu),
        memory: String(s.memoryMiB),
        containerDefinitions: [{ name: s.name, image: `ringmaster-${s.name}:local`, essential: true }],
      }),
    );
    if (await serviceExists(ecs, cluster, s.name)) {
      await ecs.send(new UpdateServiceCommand({ cluster, service: s.name, desiredCount: s.desiredCount }));
      continue;
    }
    await ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName: s.name,
        taskDefinition: family,
        desiredCount: s.desiredCount,
        launchType: 'FARGATE',
      }),
    );
  }
}

async function serviceExists(ecs: ECSClient, cluster: string, service: string): Promise<boolean> {
  try {
    const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
    return out.services?.some((s) => s.status === 'ACTIVE') ?? false;
  } catch (err) {
    if (err instanceof ClusterNotFoundException) return false;
    throw err;
  }
}
