import { randomBytes } from 'node:crypto';
import { ECSClient } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EcsService } from '#core/aws/ecs-service.js';
import { createLocalServices } from '#devkit/local-ecs.js';
import { awsEnv, clientConfig } from '../helpers/aws.js';

/**
 * The failsafe Lambda's own handler, as the alarm invokes it, against ECS on
 * the emulator. (MiniStack stores an alarm's Lambda action but dispatches
 * only SNS actions, so the alarm-to-function wiring is checked on the
 * synthesized template: test/infra/autoscaler-failsafe.test.ts.)
 */
describe('the autoscaler failsafe against the emulator', () => {
  const endpoint = inject('awsEndpoint');
  const ecs = new ECSClient(clientConfig(endpoint));
  const cluster = `rm-failsafe-${randomBytes(3).toString('hex')}`;
  let handler: typeof import('#functions/autoscaler/failsafe-handler.js')['handler'];
  const desired = async (name: string) => (await new EcsService(ecs, cluster, name).describe()).desired;

  beforeAll(async () => {
    await createLocalServices(ecs, cluster, [
      { name: 'proxy', cpu: 256, memoryMiB: 512, desiredCount: 4 },
      { name: 'servers', cpu: 256, memoryMiB: 512, desiredCount: 9 },
    ]);
    Object.assign(process.env, awsEnv(endpoint), {
      CLUSTER_NAME: cluster,
      PROXY_SERVICE_NAME: 'proxy',
      SERVER_SERVICE_NAME: 'servers',
      PROXY_MIN_COUNT: '2',
      SERVER_MIN_COUNT: '3',
    });
    ({ handler } = await import('#functions/autoscaler/failsafe-handler.js'));
  });

  const alarm = (value: string) => ({ alarmData: { alarmName: 'AutoscalerFailsafe', state: { value } } });

  it('ignores the alarm going back to OK', async () => {
    expect(await handler(alarm('OK'))).toEqual({ skipped: 'OK' });
    expect(await desired('proxy')).toBe(4);
    expect(await desired('servers')).toBe(9);
  });

  it('on ALARM lowers both tiers to their minimum counts', async () => {
    expect(await handler(alarm('ALARM'))).toEqual({
      tiers: { proxy: { from: 4, to: 2 }, servers: { from: 9, to: 3 } },
      failed: [],
    });
    expect(await desired('proxy')).toBe(2);
    expect(await desired('servers')).toBe(3);
  });

  it('never raises a count, and a direct invocation acts too', async () => {
    await new EcsService(ecs, cluster, 'servers').setDesiredCount(1);
    expect(await handler()).toEqual({ tiers: { proxy: { from: 2, to: 2 }, servers: { from: 1, to: 1 } }, failed: [] });
    expect(await desired('servers')).toBe(1);
  });

  it('throws (so the invocation is retried) when a tier cannot be lowered', async () => {
    const gone = `rm-failsafe-gone-${randomBytes(3).toString('hex')}`;
    const { lowerToMinimum } = await import('#functions/autoscaler/failsafe.js');
    const log = { info: () => {}, warn: () => {}, error: () => {} };
    const result = await lowerToMinimum(
      {
        proxy: { service: new EcsService(ecs, gone, 'proxy'), minCount: 1 },
        servers: { service: new EcsService(ecs, cluster, 'servers'), minCount: 1 },
      },
      log,
    );
    expect(result.failed).toEqual(['proxy']);
    expect(result.tiers.servers).toEqual({ from: 1, to: 1 });
  });
});
