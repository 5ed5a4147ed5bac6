/**
 * The container contract: each image, as the CDK stages it, run with exactly
 * what the synthesized task definition gives its container, serves.
 *
 * There is no Docker engine here, so the base image cannot be pulled and no
 * image is built. Instead the image is reproduced from its Dockerfile: the
 * staged build context (the cdk.out asset directory the task definition's
 * image names) is copied into an empty directory as its COPY lines say, and
 * its CMD runs there on this Node (CI runs the Dockerfiles' exact version,
 * .nvmrc). The environment is the task definition's, its references resolved
 * against resources created in the emulator: tables from the Data stack's
 * definitions, the cluster and server service, and the admin token secret,
 * read back from Secrets Manager as ECS would inject it. What differs from a
 * task on Fargate is listed once, in LOCAL_DIFFERENCES. docs/images.md says
 * what only a real build and deploy can show.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProxyReady, parseServerReady } from '#core/runtime/ready-line.js';
import { createLocalServices } from '#devkit/local-ecs.js';
import { freePort } from '#devkit/net.js';
import { type Started, spawnUntil, stopProcess } from '#devkit/spawn.js';
import { type Dockerfile, parseDockerfile } from '#infra/dockerfile.js';
import { EMULATOR_PLACEHOLDER_IMAGE } from '#infra/emulator.js';
import { awsEnv, clientConfig } from '../helpers/aws.js';
import { ROOT, waitFor } from '../helpers/processes.js';
import { type Synthesized, synthesize } from '../infra/synth.js';

/** Synth with cdk-nag and the Lambda bundling: slow on a loaded machine. */
const SYNTH_TIMEOUT_MS = 120_000;
/** The server's first heartbeat into the Ring table and the proxy's next membership read. */
const REGISTERED_WITHIN_MS = 20_000;

type Json = Record<string, unknown>;
interface ContainerDefinition {
  Image: unknown;
  Environment?: { Name: string; Value: unknown }[];
  Secrets?: { Name: string; ValueFrom: unknown }[];
  PortMappings?: { ContainerPort: number }[];
  HealthCheck?: { Command: string[] };
}

/**
 * What a task on Fargate has that a process here cannot, and what is done instead. Nothing else is
 * added to or changed in the task definition's environment.
 */
const LOCAL_DIFFERENCES = {
  // A task has its own network interface; here every container shares the host's, so each listens on
  // loopback, and each container port (8080, 8081: in the environment and the port mappings) becomes a
  // free port: a *_PORT variable holding a container port gets the local port mapped to it.
  hosts: { proxy: { PROXY_HOST: '127.0.0.1', ADMIN_HOST: '127.0.0.1' }, server: { SERVER_HOST: '127.0.0.1' } },
  // A task reaches AWS with its task role's credentials from the ECS agent; here, the emulator.
  aws: () => awsEnv(),
} as const;

const tiers = [
  { tier: 'proxy', task: 'ProxyTask' },
  { tier: 'server', task: 'ServersTask' },
] as const;
type Tier = (typeof tiers)[number]['tier'];

let synth: Synthesized;
let work: string;
const created = new Map<string, string>();
const running: Started[] = [];

function resources(template: Json): Record<string, { Type: string; Properties: Json }> {
  return template.Resources as Record<string, { Type: string; Properties: Json }>;
}

function taskContainer(task: string): ContainerDefinition {
  const entry = Object.entries(resources(synth.service.toJSON())).find(
    ([id, r]) => r.Type === 'AWS::ECS::TaskDefinition' && id.startsWith(task),
  );
  const containers = entry?.[1].Properties.ContainerDefinitions as ContainerDefinition[] | undefined;
  if (containers?.length !== 1) throw new Error(`${task}: expected one container definition`);
  return containers[0] as ContainerDefinition;
}

/** The staged build context (cdk.out/asset.<hash>) of the image the task definition runs. */
function stagedContext(task: string): string {
  const image = JSON.stringify(taskContainer(task).Image);
  const hash = /container-assets-.*:([0-9a-f]{64})"/.exec(image)?.[1];
  if (hash === undefined) throw new Error(`${task}: the image is not a CDK asset: ${image}`);
  const outdir = synth.app.outdir;
  const manifest = JSON.parse(readFileSync(join(outdir, `${synth.stacks.service.artifactId}.assets.json`), 'utf8'));
  const source = manifest.dockerImages?.[hash]?.source as { directory: string; dockerFile?: string } | undefined;
  if (source === undefined) throw new Error(`${task}: no docker image asset ${hash} in the assembly`);
  expect(source.dockerFile ?? 'Dockerfile').toBe('Dockerfile');
  return resolve(outdir, source.directory);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

/** The image's files, as its COPY lines put them, under a fresh root; returns the WORKDIR there. */
function reproduceImage(context: string, dockerfile: Dockerfile, name: string): string {
  const rootfs = mkdtempSync(join(work, `${name}-rootfs-`));
  const workdir = join(rootfs, dockerfile.workdir);
  mkdirSync(workdir, { recursive: true });
  for (const copy of dockerfile.copies) {
    const target = copy.destination.startsWith('/') ? join(rootfs, copy.destination) : join(workdir, copy.destination);
    for (const source of copy.sources) {
      const to = copy.destination.endsWith('/') ? join(target, source.split('/').pop() as string) : target;
      mkdirSync(dirname(to), { recursive: true });
      cpSync(join(context, source), to, { recursive: true });
    }
  }
  return workdir;
}

/** Creates, in the emulator, the resource a template reference names (once), and returns its name or ARN. */
async function resolveValue(value: unknown, what: string): Promise<string> {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if (typeof v['Fn::ImportValue'] === 'string') {
    const exportName = v['Fn::ImportValue'];
    const output = Object.values(synth.data.toJSON().Outputs as Record<string, Json>).find(
      (o) => (o.Export as Json | undefined)?.Name === exportName,
    );
    const ref = (output?.Value as Json | undefined)?.Ref;
    if (typeof ref !== 'string') throw new Error(`${what}: the Data stack exports no Ref named ${exportName}`);
    return createOnce(ref, () => createTable(ref));
  }
  if (typeof v.Ref === 'string') {
    const ref = v.Ref;
    const type = resources(synth.service.toJSON())[ref]?.Type;
    if (type === 'AWS::ECS::Cluster') return createOnce(ref, createCluster);
    if (type === 'AWS::SecretsManager::Secret') return createOnce(ref, () => createSecret(ref));
    throw new Error(`${what}: no local stand-in for a Ref to ${ref} (${type})`);
  }
  const getAtt = v['Fn::GetAtt'] as [string, string] | undefined;
  if (getAtt !== undefined && getAtt[1] === 'Name') {
    const type = resources(synth.service.toJSON())[getAtt[0]]?.Type;
    if (type === 'AWS::ECS::Service') return createOnce(getAtt[0], () => createService(getAtt[0]));
  }
  throw new Error(`${what}: cannot resolve ${JSON.stringify(value)}`);
}

async function createOnce(key: string, make: () => Promise<string>): Promise<string> {
  const known = created.get(key);
  if (known !== undefined) return known;
  const made = await make();
  created.set(key, made);
  return made;
}

const unique = (label: string) => `rm-cc-${label.slice(0, 24)}-${randomBytes(3).toString('hex')}`;

/** A table with the key schema, attributes and indexes the Data stack defines for `logicalId`. */
async function createTable(logicalId: string): Promise<string> {
  const p = resources(synth.data.toJSON())[logicalId]?.Properties;
  if (p === undefined) throw new Error(`no table ${logicalId} in the Data stack`);
  const TableName = unique(logicalId);
  const dynamo = new DynamoDBClient(clientConfig());
  await dynamo.send(
    new CreateTableCommand({
      TableName,
      KeySchema: p.KeySchema as KeySchemaElement[],
      AttributeDefinitions: p.AttributeDefinitions as AttributeDefinition[],
      BillingMode: 'PAY_PER_REQUEST',
      ...(p.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes as never } : {}),
    }),
  );
  dynamo.destroy();
  return TableName;
}

async function createCluster(): Promise<string> {
  const name = unique('cluster');
  await createLocalServices(new ECSClient(clientConfig()), name, []);
  return name;
}

async function createService(logicalId: string): Promise<string> {
  const props = resources(synth.service.toJSON())[logicalId]?.Properties as Json;
  const cluster = await resolveValue(props.Cluster, `${logicalId}.Cluster`);
  const name = unique(logicalId);
  await createLocalServices(new ECSClient(clientConfig()), cluster, [
    { name, cpu: 256, memoryMiB: 512, desiredCount: 1 },
  ]);
  return name;
}

/** The secret, with a value that meets the template's GenerateSecretString; its ARN (what ValueFrom holds). */
async function createSecret(logicalId: string): Promise<string> {
  const generate = resources(synth.service.toJSON())[logicalId]?.Properties.GenerateSecretString as Json;
  const length = Number(generate.PasswordLength ?? 32);
  const excluded = String(generate.ExcludeCharacters ?? '');
  const alphabet = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'].filter(
    (c) => !excluded.includes(c),
  );
  const value = [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
  const secrets = new SecretsManagerClient(clientConfig());
  const { ARN } = await secrets.send(new CreateSecretCommand({ Name: unique(logicalId), SecretString: value }));
  secrets.destroy();
  if (ARN === undefined) throw new Error(`${logicalId}: CreateSecret returned no ARN`);
  return ARN;
}

/** What ECS gives the container: the environment, and each secret's current value read from Secrets Manager. */
async function taskEnvironment(container: ContainerDefinition): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const { Name, Value } of container.Environment ?? []) env[Name] = await resolveValue(Value, Name);
  const secrets = new SecretsManagerClient(clientConfig());
  for (const { Name, ValueFrom } of container.Secrets ?? []) {
    const SecretId = await resolveValue(ValueFrom, Name);
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId }));
    if (SecretString === undefined) throw new Error(`${Name}: secret ${SecretId} has no string value`);
    env[Name] = SecretString;
  }
  secrets.destroy();
  return env;
}

/** The image's environment (Dockerfile ENV, then the task's), ports mapped, and the local differences. */
function localEnvironment(
  tier: Tier,
  dockerfile: Dockerfile,
  task: Record<string, string>,
  ports: Map<number, number>,
) {
  const env: Record<string, string> = { ...dockerfile.env, ...task };
  for (const [name, value] of Object.entries(env)) {
    const local = ports.get(Number(value));
    if (/_PORT$/.test(name) && local !== undefined) env[name] = String(local);
  }
  return { ...env, ...LOCAL_DIFFERENCES.hosts[tier], ...LOCAL_DIFFERENCES.aws() };
}

function targetGroup(): Json {
  const groups = Object.values(resources(synth.service.toJSON())).filter(
    (r) => r.Type === 'AWS::ElasticLoadBalancingV2::TargetGroup',
  );
  expect(groups).toHaveLength(1);
  return (groups[0] as { Properties: Json }).Properties;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ringmaster-container-contract-'));
  synth = synthesize();
}, SYNTH_TIMEOUT_MS);

afterAll(async () => {
  for (const started of running.reverse()) await stopProcess(started.child);
  rmSync(work, { recursive: true, force: true });
});

describe.each(tiers)('the $tier image, as the CDK stages it', ({ tier, task }) => {
  const dockerfileOf = (context: string) =>
    parseDockerfile(readFileSync(join(context, 'Dockerfile'), 'utf8'), `${tier} Dockerfile`);

  it('is built from the Dockerfile in the repository, on the pinned Node 24 base image', () => {
    const context = stagedContext(task);
    expect(readFileSync(join(context, 'Dockerfile'), 'utf8')).toBe(
      readFileSync(join(ROOT, `containers/${tier}/Dockerfile`), 'utf8'),
    );
    const dockerfile = dockerfileOf(context);
    const pinned = readFileSync(join(ROOT, '.nvmrc'), 'utf8').trim();
    expect(dockerfile.from).toBe(`public.ecr.aws/docker/library/node:${pinned}-alpine3.24`);
    // The emulator registers tasks with the same image.
    expect(EMULATOR_PLACEHOLDER_IMAGE).toBe(dockerfile.from);
  });

  it('holds exactly the Dockerfile and what it copies, and the bundle is the one just built', () => {
    const context = stagedContext(task);
    const dockerfile = dockerfileOf(context);
    const sources = dockerfile.copies.flatMap((c) => c.sources);
    expect(filesUnder(context)).toEqual(['Dockerfile', ...sources].sort());
    expect(sources).toEqual(expect.arrayContaining([`${tier}.js`, `${tier}.js.map`, 'package.json']));
    const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(digest(join(context, `${tier}.js`))).toBe(digest(join(ROOT, `dist/${tier}.js`)));
    expect(JSON.parse(readFileSync(join(context, 'package.json'), 'utf8'))).toMatchObject({ type: 'module' });
  });

  it('runs its CMD as a non-root user, exposing exactly the task definition’s container ports', () => {
    const dockerfile = dockerfileOf(stagedContext(task));
    expect(dockerfile.user).toBe('node');
    const [program, ...args] = dockerfile.cmd;
    expect(program).toBe('node');
    const script = args.find((a) => !a.startsWith('-'));
    expect(dockerfile.copies.some((c) => c.sources.includes(script as string) && c.destination === './')).toBe(true);
    const ports = (taskContainer(task).PortMappings ?? []).map((p) => p.ContainerPort).sort();
    expect([...dockerfile.expose].sort()).toEqual(ports);
  });
});

describe('the images, run as the task definitions say', () => {
  it('the server registers itself, and the proxy routes a request to it; the load balancer’s health check passes', async () => {
    const reproduce = (tier: Tier, task: string) => {
      const context = stagedContext(task);
      const dockerfile = parseDockerfile(readFileSync(join(context, 'Dockerfile'), 'utf8'), `${tier} Dockerfile`);
      return { tier, dockerfile, cwd: reproduceImage(context, dockerfile, tier), container: taskContainer(task) };
    };
    const start = async (
      image: ReturnType<typeof reproduce>,
      ports: Map<number, number>,
      ready: (line: string) => boolean,
    ) => {
      const env = localEnvironment(image.tier, image.dockerfile, await taskEnvironment(image.container), ports);
      const [, ...args] = image.dockerfile.cmd;
      // The image's `node` is the Dockerfile's pinned version; CI runs that same version (.nvmrc).
      const started = await spawnUntil(process.execPath, args, { cwd: image.cwd, env }, ready);
      running.push(started);
      return { started, env };
    };
    const portsFor = async (container: ContainerDefinition) => {
      const map = new Map<number, number>();
      for (const { ContainerPort } of container.PortMappings ?? []) map.set(ContainerPort, await freePort());
      return map;
    };

    const server = reproduce('server', 'ServersTask');
    const serverPorts = await portsFor(server.container);
    const serverRun = await start(server, serverPorts, (l) => parseServerReady(l) !== undefined);
    const serverId = parseServerReady(serverRun.started.readyLine)?.id;

    const proxy = reproduce('proxy', 'ProxyTask');
    const proxyPorts = await portsFor(proxy.container);
    const proxyRun = await start(proxy, proxyPorts, (l) => parseProxyReady(l) !== undefined);

    // The load balancer's view: its health check on its port and path, and traffic on the target port.
    const group = targetGroup();
    const healthPort = proxyPorts.get(Number(group.HealthCheckPort ?? group.Port));
    const health = await request(`http://127.0.0.1:${healthPort}${group.HealthCheckPath as string}`);
    await health.body.text();
    expect(health.statusCode).toBe(200);

    const trafficPort = proxyPorts.get(Number(group.Port));
    let body: unknown;
    await waitFor(
      async () => {
        const res = await request(`http://127.0.0.1:${trafficPort}/home`);
        const text = await res.body.text();
        if (res.statusCode !== 200) return false;
        body = JSON.parse(text);
        return true;
      },
      REGISTERED_WITHIN_MS,
      'the proxy to route /home to the server that registered in the Ring table',
    );
    expect(body).toEqual({ message: `Hello from Server: ${serverId}`, status: 'successful' });

    // ECS's container health checks, where a container definition has one: run as the agent runs them,
    // inside the container, with what the image has.
    const checks = [
      { tier: 'server', image: server, ports: serverPorts, env: serverRun.env },
      { tier: 'proxy', image: proxy, ports: proxyPorts, env: proxyRun.env },
    ].filter((c) => c.image.container.HealthCheck !== undefined);
    for (const { tier, image, ports, env } of checks) {
      const command = image.container.HealthCheck?.Command ?? [];
      expect({ tier, status: runHealthCheck(command, image.cwd, env, ports) }).toEqual({ tier, status: 0 });
    }
  });
});

/** What node:<version>-alpine holds that a health check may call: Node, and BusyBox's shell, wget and nc (no curl). */
const BASE_IMAGE_PROGRAMS = new Set(['node', 'sh', 'wget', 'nc']);
const HEALTH_CHECK_TIMEOUT_MS = 10_000;

/** Runs a container definition's HealthCheck command in the reproduced image, ports mapped; its exit status. */
function runHealthCheck(
  command: readonly string[],
  cwd: string,
  env: Record<string, string>,
  ports: Map<number, number>,
) {
  const [kind, ...rest] = command;
  const argv = kind === 'CMD' ? rest : kind === 'CMD-SHELL' && rest.length === 1 ? ['sh', '-c', rest[0] as string] : [];
  if (argv.length === 0)
    throw new Error(`HealthCheck.Command: expected CMD or CMD-SHELL, got ${JSON.stringify(command)}`);
  const program = (argv[0] === 'sh' ? argv[2]?.trim().split(/\s+/)[0] : argv[0]) ?? '';
  expect(BASE_IMAGE_PROGRAMS, `health check program "${program}"`).toContain(program);
  const local = argv.map((a) =>
    a.replace(/\b(?:localhost|127\.0\.0\.1):(\d+)/g, (_, port) => `127.0.0.1:${ports.get(Number(port)) ?? port}`),
  );
  // The image's `node` is this one; the rest come from this machine's PATH.
  const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  const run = spawnSync(local[0] as string, local.slice(1), {
    cwd,
    env: { ...env, PATH },
    timeout: HEALTH_CHECK_TIMEOUT_MS,
  });
  return run.status;
}
