import { describe, expect, it } from 'vitest';
import { synthesize } from './synth.js';

/**
 * The compatibility mode serves admin routes without a token on the data port; it exists for
 * `npm start` on loopback only. No deployment the CDK app builds may turn it on: the proxy's
 * own config check (loopback PROXY_HOST) is the second line, this is the first.
 */
describe('the CDK app never sets the compatibility mode', () => {
  for (const emulator of [false, true]) {
    it(`no container of any task definition has SEED_COMPAT${emulator ? ' (emulator templates)' : ''}`, () => {
      const { data, service, monitoring } = synthesize({ emulator });
      const containers = Object.values(service.findResources('AWS::ECS::TaskDefinition')).flatMap(
        (r) =>
          (r as { Properties: { ContainerDefinitions: Record<string, unknown>[] } }).Properties.ContainerDefinitions,
      );
      expect(containers.length).toBeGreaterThanOrEqual(2);
      const names = (c: Record<string, unknown>, key: string) =>
        ((c[key] ?? []) as { Name: string }[]).map((e) => e.Name);
      for (const c of containers) expect(names(c, 'Environment')).not.toContain('SEED_COMPAT');
      // The proxy keeps its separate admin port and its token.
      const proxy = containers.filter((c) => names(c, 'Environment').includes('ADMIN_PORT'));
      expect(proxy).toHaveLength(1);
      expect(names(proxy[0] as Record<string, unknown>, 'Secrets')).toContain('ADMIN_TOKEN');
      for (const template of [data, service, monitoring])
        expect(JSON.stringify(template.toJSON())).not.toContain('SEED_COMPAT');
    }, 120_000);
  }
});
