/**
 * The network a real deploy needs, proved on the synthesized templates (all
 * stacks) with the reachability model in ./reachability.ts: every path the
 * system uses is open, and nothing else is. MiniStack enforces no security
 * group (and the emulator variant drops group-to-group egress), so only this
 * test can catch, for example, a load balancer that cannot health-check.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Endpoint, Network, reachabilityMatrix } from './reachability.js';
import { type Synthesized, shippedConfig, synthesize } from './synth.js';

let shipped: Synthesized;
let natted: Synthesized;

beforeAll(() => {
  shipped = synthesize();
  const config = shippedConfig();
  config.envName = 'nat';
  config.natGateways = 1;
  config.certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
  natted = synthesize({ config });
}, 120_000);

interface Model {
  readonly network: Network;
  readonly internet: Endpoint;
  readonly vpcHost: Endpoint;
  readonly lb: Endpoint;
  readonly proxy: Endpoint;
  readonly servers: Endpoint;
}

function model(s: Synthesized): Model {
  const network = new Network({
    data: s.data.toJSON(),
    service: s.service.toJSON(),
    monitoring: s.monitoring.toJSON(),
  });
  const one = (type: string, prefix: string) => {
    const found = network.ofType(type).filter((k) => k.startsWith(`service/${prefix}`));
    expect(found, `${type} ${prefix}`).toHaveLength(1);
    return found[0] as string;
  };
  return {
    network,
    internet: Network.outside('internet', '198.51.100.7', true),
    // An operator's box (or a bastion) inside the VPC, in no group of ours.
    vpcHost: Network.outside('vpc-host', '10.42.200.9', false),
    lb: network.loadBalancer(one('AWS::ElasticLoadBalancingV2::LoadBalancer', 'ProxyLoadBalancer'), 'lb'),
    proxy: network.service(one('AWS::ECS::Service', 'ProxyService'), 'proxy'),
    servers: network.service(one('AWS::ECS::Service', 'ServersService'), 'servers'),
  };
}

/** The ports the templates themselves say the system uses. */
function neededPorts(s: Synthesized) {
  const listeners = Object.values(s.service.findResources('AWS::ElasticLoadBalancingV2::Listener')).map(
    (r) => r.Properties.Port as number,
  );
  const [group] = Object.values(s.service.findResources('AWS::ElasticLoadBalancingV2::TargetGroup'));
  const serverTask = Object.entries(s.service.findResources('AWS::ECS::TaskDefinition')).find(([id]) =>
    id.startsWith('ServersTask'),
  );
  if (serverTask === undefined) throw new Error('no servers task definition');
  const mappings = serverTask[1].Properties.ContainerDefinitions[0].PortMappings as { ContainerPort: number }[];
  const serverPorts = mappings.map((m) => m.ContainerPort);
  return {
    listeners,
    traffic: group?.Properties.Port as number,
    healthCheck: Number(group?.Properties.HealthCheckPort),
    server: serverPorts,
  };
}

const all = (m: Model) => [m.internet, m.vpcHost, m.lb, m.proxy, m.servers];

describe('reachability (no NAT: tasks in public subnets with public addresses)', () => {
  it('opens every path the system needs: internet to the listeners, load balancer to traffic and health-check ports, proxies to servers', () => {
    const m = model(shipped);
    const ports = neededPorts(shipped);
    expect(ports.listeners).toEqual([80]);
    for (const p of ports.listeners)
      expect(m.network.canConnect(m.internet, m.lb, p), `internet -> lb:${p}`).toBe(true);
    expect(m.network.canConnect(m.lb, m.proxy, ports.traffic), 'lb -> proxy traffic port').toBe(true);
    expect(m.network.canConnect(m.lb, m.proxy, ports.healthCheck), 'lb -> proxy health-check port').toBe(true);
    for (const p of ports.server)
      expect(m.network.canConnect(m.proxy, m.servers, p), `proxy -> servers:${p}`).toBe(true);
  });

  it('lets both tiers reach ECR, DynamoDB, CloudWatch and Secrets Manager through their public addresses', () => {
    const m = model(shipped);
    for (const tier of [m.proxy, m.servers]) {
      expect(tier.publicAddress, tier.name).toBe(true);
      for (const api of ['ecr.api', 'dynamodb', 'monitoring', 'logs', 'secretsmanager']) {
        expect(m.network.reachesAwsApi(tier, api), `${tier.name} -> ${api}`).toBe(true);
      }
    }
  });

  it('opens nothing more: the whole matrix over every port the templates mention', () => {
    const m = model(shipped);
    expect(reachabilityMatrix(m.network, all(m))).toEqual(
      [
        'lb -> proxy: 8080,8081',
        // The admin port is open to the VPC's range (operators, the other proxies), never to the internet.
        'proxy -> internet: all',
        'proxy -> lb: 80',
        'proxy -> proxy: 8081',
        'proxy -> servers: 8080',
        'proxy -> vpc-host: all',
        'servers -> internet: all',
        'servers -> lb: 80',
        'servers -> proxy: 8081',
        'servers -> vpc-host: all',
        'internet -> lb: 80',
        'vpc-host -> lb: 80',
        'vpc-host -> proxy: 8081',
      ].sort(),
    );
  });

  it('never opens the admin port to 0.0.0.0/0, and only the proxies reach the servers', () => {
    const m = model(shipped);
    for (const src of all(m)) {
      const canReachServers = m.network.interestingPorts().some((p) => m.network.canConnect(src, m.servers, p));
      expect(canReachServers, `${src.name} -> servers`).toBe(src === m.proxy);
    }
    expect(m.network.canConnect(m.internet, m.proxy, 8081)).toBe(false);
    for (const [id, r] of Object.entries(shipped.service.findResources('AWS::EC2::SecurityGroup'))) {
      for (const rule of (r.Properties.SecurityGroupIngress ?? []) as Record<string, unknown>[]) {
        if (rule.CidrIp === '0.0.0.0/0') expect({ id, port: rule.FromPort }).toMatchObject({ port: 80 });
      }
    }
  });
});

describe('reachability (natGateways: 1, certificateArn: tasks in private subnets, HTTPS)', () => {
  it('opens 443 and 80 (the redirect) to the internet, keeps every needed path, gives tasks no public address, and reaches the AWS APIs through NAT (DynamoDB through its gateway endpoint too)', () => {
    const m = model(natted);
    const ports = neededPorts(natted);
    expect(ports.listeners.sort()).toEqual([443, 80]);
    expect(m.proxy.publicAddress).toBe(false);
    expect(m.servers.publicAddress).toBe(false);
    for (const p of ports.listeners)
      expect(m.network.canConnect(m.internet, m.lb, p), `internet -> lb:${p}`).toBe(true);
    expect(m.network.canConnect(m.lb, m.proxy, ports.traffic)).toBe(true);
    expect(m.network.canConnect(m.lb, m.proxy, ports.healthCheck)).toBe(true);
    for (const tier of [m.proxy, m.servers]) {
      for (const api of ['ecr.api', 'dynamodb', 'monitoring', 'logs', 'secretsmanager']) {
        expect(m.network.reachesAwsApi(tier, api), `${tier.name} -> ${api}`).toBe(true);
      }
    }
    expect(reachabilityMatrix(m.network, all(m))).toEqual(
      [
        'lb -> proxy: 8080,8081',
        'proxy -> internet: all',
        'proxy -> lb: 80,443',
        'proxy -> proxy: 8081',
        'proxy -> servers: 8080',
        'proxy -> vpc-host: all',
        'servers -> internet: all',
        'servers -> lb: 80,443',
        'servers -> proxy: 8081',
        'servers -> vpc-host: all',
        'internet -> lb: 80,443',
        'vpc-host -> lb: 80,443',
        'vpc-host -> proxy: 8081',
      ].sort(),
    );
  });
});
