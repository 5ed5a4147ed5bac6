import type { Member, MembershipControl, MembershipSource, MembershipStats } from '#core/ports/membership.js';

const IN_PROCESS_STATS: MembershipStats = Object.freeze({ errors: 0, lastReadAgeMs: 0 });

/**
 * A fixed server list from configuration (STATIC_SERVERS), for fleets that
 * do not register themselves. Draining and removal still work for the
 * lifetime of the process.
 */
export class StaticMembership implements MembershipSource, MembershipControl {
  private readonly members: Member[];
  private onChange: ((members: readonly Member[]) => void) | undefined;

  constructor(servers: readonly { id: string; address: string }[]) {
    this.members = servers.map((s) => ({ id: s.id, address: s.address, weight: 1, status: 'active' }));
  }

  async start(onChange: (members: readonly Member[]) => void): Promise<void> {
    this.onChange = onChange;
    onChange(this.members);
  }

  async drain(id: string): Promise<void> {
    const i = this.members.findIndex((m) => m.id === id);
    const member = this.members[i];
    if (member) {
      this.members[i] = { ...member, status: 'draining' };
      this.onChange?.(this.members);
    }
  }

  async remove(id: string): Promise<void> {
    const i = this.members.findIndex((m) => m.id === id);
    if (i >= 0) {
      this.members.splice(i, 1);
      this.onChange?.(this.members);
    }
  }

  async allow(): Promise<void> {}

  stats(): MembershipStats {
    return IN_PROCESS_STATS;
  }

  async stop(): Promise<void> {
    this.onChange = undefined;
  }
}
