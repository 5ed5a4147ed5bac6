/**
 * A small reachability model over synthesized CloudFormation templates: which
 * endpoint can open a TCP connection to which other endpoint on which port,
 * judged the way a VPC judges it (the source's security-group egress AND the
 * destination's ingress, by group or by CIDR), plus the route a task needs to
 * reach AWS's public APIs. The emulator enforces none of this, so this model
 * is where the network is proved before a real deploy.
 *
 * It reads every AWS::EC2::SecurityGroup (inline rules),
 * SecurityGroupIngress/Egress, Subnet, Route, SubnetRouteTableAssociation,
 * VPCEndpoint, ELBv2 LoadBalancer and ECS Service in the given templates.
 * Anything in a rule it cannot resolve (an import, a prefix list it does not
 * know) throws, so a template it does not understand never passes silently.
 *
 * One modelling choice, the CDK's: a group with no egress rule at all has
 * EC2's default allow-all egress; a group with any egress rule (inline or
 * standalone) allows exactly those rules.
 */

type Json = Record<string, unknown>;
export interface CfnTemplate {
  readonly Resources?: Record<string, { Type: string; Properties?: Json }>;
}

/** A destination or source of traffic. Groups and subnets are `stack/logicalId`. */
export interface Endpoint {
  readonly name: string;
  /** One of its private addresses (or a public one for outside endpoints). */
  readonly address: number;
  /** Security groups; undefined for endpoints outside the model (internet, an unmanaged VPC host): they filter nothing. */
  readonly groups?: readonly string[];
  readonly subnets: readonly string[];
  /** Reachable from, and able to reach, the internet through an internet gateway. */
  readonly publicAddress: boolean;
}

interface Rule {
  readonly group: string;
  readonly direction: 'ingress' | 'egress';
  readonly protocol: string;
  readonly from: number;
  readonly to: number;
  readonly peer:
    | { readonly cidr: readonly [number, number] }
    | { readonly group: string }
    | { readonly prefixList: string };
}

const ALL_PORTS: readonly [number, number] = [0, 65535];

export function parseIpv4(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${text}`);
  }
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

/** [first, last] address of a CIDR block. */
export function cidrRange(cidr: string): [number, number] {
  const [base, bits] = cidr.split('/');
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32)
    throw new Error(`not a CIDR: ${cidr}`);
  const size = 2 ** (32 - prefix);
  const first = Math.floor(parseIpv4(base) / size) * size;
  return [first, first + size - 1];
}

const inRange = (address: number, [first, last]: readonly [number, number]) => address >= first && address <= last;

export class Network {
  private readonly resources = new Map<string, { type: string; props: Json; stack: string }>();
  private readonly rules: Rule[] = [];

  constructor(templates: Readonly<Record<string, CfnTemplate>>) {
    for (const [stack, template] of Object.entries(templates)) {
      for (const [id, r] of Object.entries(template.Resources ?? {})) {
        this.resources.set(`${stack}/${id}`, { type: r.Type, props: r.Properties ?? {}, stack });
      }
    }
    for (const [key, r] of this.resources) {
      if (r.type === 'AWS::EC2::SecurityGroup') {
        for (const rule of (r.props.SecurityGroupIngress ?? []) as Json[]) this.addRule(key, 'ingress', rule, r.stack);
        for (const rule of (r.props.SecurityGroupEgress ?? []) as Json[]) this.addRule(key, 'egress', rule, r.stack);
      } else if (r.type === 'AWS::EC2::SecurityGroupIngress' || r.type === 'AWS::EC2::SecurityGroupEgress') {
        const group = this.ref(r.props.GroupId, r.stack, `${key}.GroupId`);
        this.addRule(group, r.type.endsWith('Ingress') ? 'ingress' : 'egress', r.props, r.stack);
      }
    }
  }

  /** Logical ids (`stack/id`) of every resource of a type. */
  ofType(type: string): string[] {
    return [...this.resources].filter(([, r]) => r.type === type).map(([key]) => key);
  }

  props(key: string): Json {
    const r = this.resources.get(key);
    if (r === undefined) throw new Error(`no resource ${key}`);
    return r.props;
  }

  /** A load balancer as an endpoint: its groups, its subnets, public when internet-facing. */
  loadBalancer(key: string, name: string): Endpoint {
    const p = this.props(key);
    const stack = key.split('/')[0] as string;
    const subnets = (p.Subnets as unknown[]).map((s, i) => this.ref(s, stack, `${key}.Subnets[${i}]`));
    return {
      name,
      address: this.addressIn(subnets),
      groups: (p.SecurityGroups as unknown[]).map((g, i) => this.ref(g, stack, `${key}.SecurityGroups[${i}]`)),
      subnets,
      publicAddress: p.Scheme === 'internet-facing',
    };
  }

  /** An ECS service's tasks as an endpoint (awsvpc networking). */
  service(key: string, name: string): Endpoint {
    const stack = key.split('/')[0] as string;
    const vpc = (this.props(key).NetworkConfiguration as Json | undefined)?.AwsvpcConfiguration as Json | undefined;
    if (vpc === undefined) throw new Error(`${key}: no awsvpc network configuration`);
    const subnets = (vpc.Subnets as unknown[]).map((s, i) => this.ref(s, stack, `${key}.Subnets[${i}]`));
    return {
      name,
      address: this.addressIn(subnets),
      groups: (vpc.SecurityGroups as unknown[]).map((g, i) => this.ref(g, stack, `${key}.SecurityGroups[${i}]`)),
      subnets,
      publicAddress:
        vpc.AssignPublicIp === 'ENABLED' && subnets.every((s) => this.defaultRoute(s) === 'internet-gateway'),
    };
  }

  /** A host outside every modelled group, at `address` (the internet, or an operator's box in the VPC). */
  static outside(name: string, address: string, publicAddress: boolean): Endpoint {
    return { name, address: parseIpv4(address), subnets: [], publicAddress };
  }

  /** Whether `src` can open a TCP connection to `dst` on `port`. */
  canConnect(src: Endpoint, dst: Endpoint, port: number): boolean {
    const outsideVpc = (e: Endpoint) => e.subnets.length === 0 && e.groups === undefined && e.publicAddress;
    // Across the VPC's edge both ends need a public address (or the source a NAT route, for outbound).
    if (outsideVpc(src) && !dst.publicAddress) return false;
    if (outsideVpc(dst) && !this.reachesInternet(src)) return false;
    return this.allows(src, dst, port, 'egress') && this.allows(dst, src, port, 'ingress');
  }

  /**
   * Whether the endpoint's tasks reach an AWS regional API (ECR, CloudWatch,
   * Secrets Manager, DynamoDB...) on 443: through a public address or a NAT
   * gateway, or for DynamoDB and S3 through a gateway endpoint on its route
   * table, with egress to the API allowed. Interface endpoints are not
   * modelled: one in the template throws, so adding one means teaching this.
   */
  reachesAwsApi(src: Endpoint, service: string): boolean {
    if (this.ofType('AWS::EC2::VPCEndpoint').some((k) => this.props(k).VpcEndpointType === 'Interface')) {
      throw new Error('reachability: interface VPC endpoints are not modelled yet');
    }
    const api = Network.outside(`${service} API`, '52.94.0.10', true);
    const egress = this.allows(src, api, 443, 'egress');
    if (!egress) return false;
    if (this.reachesInternet(src)) return true;
    return src.subnets.every((subnet) => {
      const table = this.routeTable(subnet);
      return this.ofType('AWS::EC2::VPCEndpoint').some((k) => {
        const p = this.props(k);
        const stack = k.split('/')[0] as string;
        const name = JSON.stringify(p.ServiceName);
        return (
          p.VpcEndpointType === 'Gateway' &&
          name.includes(`.${service}`) &&
          ((p.RouteTableIds ?? []) as unknown[]).some(
            (t, i) => this.ref(t, stack, `${k}.RouteTableIds[${i}]`) === table,
          )
        );
      });
    });
  }

  /** Every port any rule, listener, target group or container mentions, plus a few usual suspects. */
  interestingPorts(): number[] {
    const ports = new Set<number>([22, 80, 443, 3389]);
    for (const rule of this.rules) {
      ports.add(rule.from);
      ports.add(rule.to);
    }
    for (const [, r] of this.resources) {
      for (const key of ['Port', 'HealthCheckPort']) {
        const value = Number(r.props[key]);
        if (Number.isInteger(value) && value > 0) ports.add(value);
      }
    }
    return [...ports].filter((p) => p >= 0 && p <= 65535).sort((a, b) => a - b);
  }

  private reachesInternet(src: Endpoint): boolean {
    if (src.groups === undefined) return true;
    if (src.subnets.length === 0) return false;
    return src.subnets.every((s) => {
      const route = this.defaultRoute(s);
      return route === 'nat-gateway' || (route === 'internet-gateway' && src.publicAddress);
    });
  }

  /** Whether `self`'s groups let traffic go to (egress) or come from (ingress) `other` on `port`. */
  private allows(self: Endpoint, other: Endpoint, port: number, direction: Rule['direction']): boolean {
    if (self.groups === undefined) return true;
    return self.groups.some((group) => {
      const rules = this.rules.filter((r) => r.group === group && r.direction === direction);
      if (direction === 'egress' && rules.length === 0) return true;
      return rules.some((r) => {
        if (r.protocol !== '-1' && r.protocol !== 'tcp' && r.protocol !== '6') return false;
        if (port < r.from || port > r.to) return false;
        if ('cidr' in r.peer) return inRange(other.address, r.peer.cidr);
        if ('group' in r.peer) return other.groups?.includes(r.peer.group) ?? false;
        return false;
      });
    });
  }

  private addRule(group: string, direction: Rule['direction'], raw: Json, stack: string): void {
    const protocol = String(raw.IpProtocol);
    const all = protocol === '-1';
    const from = all ? ALL_PORTS[0] : Number(raw.FromPort);
    const to = all ? ALL_PORTS[1] : Number(raw.ToPort);
    if (!Number.isInteger(from) || !Number.isInteger(to))
      throw new Error(`${group}: a ${direction} rule without ports`);
    const peerKey = direction === 'ingress' ? 'SourceSecurityGroupId' : 'DestinationSecurityGroupId';
    let peer: Rule['peer'];
    if (typeof raw.CidrIp === 'string') peer = { cidr: cidrRange(raw.CidrIp) };
    else if (raw[peerKey] !== undefined) peer = { group: this.ref(raw[peerKey], stack, `${group} ${direction} peer`) };
    else if (raw.DestinationPrefixListId !== undefined || raw.SourcePrefixListId !== undefined) {
      peer = { prefixList: JSON.stringify(raw.DestinationPrefixListId ?? raw.SourcePrefixListId) };
    } else if (raw.CidrIpv6 !== undefined)
      return; // IPv4-only VPC: an IPv6 rule opens nothing here
    else throw new Error(`${group}: a ${direction} rule with no peer: ${JSON.stringify(raw)}`);
    this.rules.push({ group, direction, protocol, from, to, peer });
  }

  /** `stack/logicalId` of a Ref or a GetAtt in `stack`; throws on anything else (imports included). */
  private ref(value: unknown, stack: string, where: string): string {
    const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
    const id = v?.Ref ?? v?.['Fn::GetAtt']?.[0];
    const key = `${stack}/${id}`;
    if (id === undefined || !this.resources.has(key)) {
      throw new Error(`reachability: cannot resolve ${where}: ${JSON.stringify(value)}`);
    }
    return key;
  }

  private addressIn(subnets: readonly string[]): number {
    const first = subnets[0];
    if (first === undefined) throw new Error('reachability: an endpoint with no subnet');
    const cidr = this.props(first).CidrBlock;
    if (typeof cidr !== 'string') throw new Error(`reachability: subnet ${first} has no literal CidrBlock`);
    // A host address inside the block, clear of the five AWS reserves.
    return cidrRange(cidr)[0] + 10;
  }

  private routeTable(subnet: string): string {
    const assoc = this.ofType('AWS::EC2::SubnetRouteTableAssociation').find((k) => {
      const stack = k.split('/')[0] as string;
      return this.ref(this.props(k).SubnetId, stack, `${k}.SubnetId`) === subnet;
    });
    if (assoc === undefined) throw new Error(`reachability: subnet ${subnet} has no route table`);
    return this.ref(this.props(assoc).RouteTableId, assoc.split('/')[0] as string, `${assoc}.RouteTableId`);
  }

  private defaultRoute(subnet: string): 'internet-gateway' | 'nat-gateway' | 'none' {
    const table = this.routeTable(subnet);
    for (const k of this.ofType('AWS::EC2::Route')) {
      const p = this.props(k);
      const stack = k.split('/')[0] as string;
      if (p.DestinationCidrBlock !== '0.0.0.0/0' || this.ref(p.RouteTableId, stack, `${k}.RouteTableId`) !== table) {
        continue;
      }
      if (p.NatGatewayId !== undefined) return 'nat-gateway';
      if (p.GatewayId !== undefined) return 'internet-gateway';
    }
    return 'none';
  }
}

/**
 * Every allowed (source, destination, port) among `endpoints`, over the
 * model's interesting ports, as `source -> destination: ports` lines; a pair
 * open on every interesting port reads `all`.
 */
export function reachabilityMatrix(network: Network, endpoints: readonly Endpoint[]): string[] {
  const ports = network.interestingPorts();
  const lines: string[] = [];
  for (const src of endpoints) {
    for (const dst of endpoints) {
      // Between two hosts outside the model there is nothing to prove.
      if (src.groups === undefined && dst.groups === undefined) continue;
      const open = ports.filter((p) => network.canConnect(src, dst, p));
      if (open.length === 0) continue;
      lines.push(`${src.name} -> ${dst.name}: ${open.length === ports.length ? 'all' : open.join(',')}`);
    }
  }
  return lines.sort();
}
