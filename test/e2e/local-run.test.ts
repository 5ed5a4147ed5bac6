import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { parseProxyReady, parseServerReady, type ServerReady } from '#core/runtime/ready-line.js';
import { spawnUntil as spawnProcess } from '#devkit/spawn.js';
import { parseDockerfile } from '#infra/dockerfile.js';
import { awsEnv } from '../helpers/aws.js';
import { ROOT, SERVER_BUNDLE, spawnUntil, stopProcess, waitFor } from '../helpers/processes.js';

/** The child processes of `pid` whose command line contains `match`, from /proc (Linux). */
function childPids(pid: number, match: string): number[] {
  const found: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean)) {
      const cmdline = readFileSync(`/proc/${child}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(match)) found.push(Number(child));
    }
  }
  return found;
}

/** The CMD of a tier's Dockerfile, and the staged build context (dist/images/<tier>/) it runs from. */
function dockerCmd(tier: 'proxy' | 'server') {
  const cwd = join(ROOT, 'dist/images', tier);
  const { cmd } = parseDockerfile(readFileSync(join(cwd, 'Dockerfile'), 'utf8'), `${tier} Dockerfile`);
  const [program, ...args] = cmd;
  const run = (env: Record<string, string>, ready: (line: string) => boolean) =>
    spawnProcess(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? '', ...env } }, ready);
  return { program, run };
}

// No Docker engine here: run each image's CMD from its staged build context (test/e2e/container-contract.test.ts
// runs both with the task definitions' environment).
describe('container entry points (no Docker engine here: run the CMD itself)', () => {
  it('the server image CMD starts the server bundle and it answers /home', async () => {
    const { program, run } = dockerCmd('server');
    expect(program).toBe('node');
    const server = await run({ SERVER_ID: 'img', SERVER_HOST: '127.0.0.1', SERVER_PORT: '0' }, (l) =>
      Boolean(parseServerReady(l)),
    );
    const { address } = parseServerReady(server.readyLine) as ServerReady;
    const res = await request(`${address}/home`);
    expect(JSON.parse(await res.body.text())).toEqual({ message: 'Hello from Server: img', status: 'successful' });
    expect(await stopProcess(server.child)).toBe(0);
  });

  it('the proxy image CMD starts the proxy bundle, and it refuses to start without a token', async () => {
    const { run } = dockerCmd('proxy');
    const refused = run({ PROXY_PORT: '0', ADMIN_PORT: '0' }, () => false);
    await expect(refused).rejects.toThrow(/exited with 2 before ready: ringmaster proxy: ADMIN_TOKEN: required/);
    const proxy = await run(
      {
        PROXY_HOST: '127.0.0.1',
        PROXY_PORT: '0',
        ADMIN_HOST: '127.0.0.1',
        ADMIN_PORT: '0',
        ADMIN_TOKEN: 't'.repeat(40),
      },
      (l) => Boolean(parseProxyReady(l)),
    );
    expect(await stopProcess(proxy.child)).toBe(0);
  });
});

describe('npm start (the local run)', () => {
  it('starts the emulator, a proxy and three servers on the Ring table, prints URLs and token, and stops cleanly', async () => {
    // A user's emulator (AWS_ENDPOINT_URL) is used as is; otherwise the script starts MiniStack.
    const emulator = process.env.AWS_ENDPOINT_URL ? awsEnv() : {};
    const run = await spawnUntil(
      ['dist/scripts/start.js'],
      { RINGMASTER_PORT: '0', RINGMASTER_ADMIN_PORT: '0', ...emulator },
      (l) => l.includes('Press Ctrl-C'),
    );
    const text = run.lines.join('\n');
    const proxyUrl = /proxy: {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
    const adminUrl = /admin: {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
    const token = /token: {2}([0-9a-f]{64})/.exec(text)?.[1];
    const awsUrl = /aws: {4}(http:\/\/\S+)/.exec(text)?.[1];
    expect(proxyUrl && adminUrl && token && awsUrl).toBeTruthy();
    const home = await request(`${proxyUrl}/home`);
    expect(JSON.parse(await home.body.text()).message).toMatch(/^Hello from Server: s[123]$/);
    const rep = await request(`${adminUrl}/rep`, { headers: { authorization: `Bearer ${token}` } });
    expect(JSON.parse(await rep.body.text())).toEqual({
      message: { N: 3, replicas: ['s1', 's2', 's3'] },
      status: 'successful',
    });
    run.child.kill('SIGINT');
    const exit = await new Promise<{ code: number | null; signal: string | null }>((r) =>
      run.child.once('exit', (code, signal) => r({ code, signal })),
    );
    expect({ ...exit, stderr: exit.code === 0 ? '' : run.stderr.join('\n') }).toEqual({
      code: 0,
      signal: null,
      stderr: '',
    });
    // Only Ringmaster's own lines: on Node 24 the AWS SDK prints no Node-version notice (it did on Node 20,
    // from this script's table set-up and every server's DynamoDB client), and nothing else reached stderr.
    expect([...run.lines, ...run.stderr].filter((l) => l.includes('NodeVersionSupportWarning'))).toEqual([]);
    expect(run.stderr).toEqual([]);
    // Everything it started is gone: neither the proxy nor the emulator answers.
    await expect(request(`${proxyUrl}/home`)).rejects.toThrow(/ECONNREFUSED/);
    if (!process.env.AWS_ENDPOINT_URL)
      await expect(request(`${awsUrl}/_ministack/health`)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('npm start says when a part of it dies', () => {
  it('names the dead emulator and what stops, names a dead server, and routing goes on', async () => {
    // Its own MiniStack (no AWS_ENDPOINT_URL passed on), so the test may kill it.
    const run = await spawnUntil(
      ['dist/scripts/start.js'],
      { RINGMASTER_PORT: '0', RINGMASTER_ADMIN_PORT: '0', RINGMASTER_SERVERS: '2' },
      (l) => l.includes('Press Ctrl-C'),
    );
    try {
      const proxyUrl = /proxy: {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(run.lines.join('\n'))?.[1];
      const runPid = run.child.pid as number;
      const [emulatorPid] = childPids(runPid, 'ministack');
      const [proxyPid] = childPids(runPid, 'dev-proxy.js');
      expect(emulatorPid && proxyPid).toBeTruthy();
      const [serverPid] = childPids(proxyPid as number, 'server.js');
      expect(serverPid).toBeTruthy();

      process.kill(serverPid as number, 'SIGKILL');
      const serverLine = () => run.lines.find((l) => /^npm start: server s\d was killed by SIGKILL/.test(l));
      await waitFor(() => serverLine() !== undefined, 10_000, 'the line for the dead server');
      expect(serverLine()).toMatch(
        /the proxy starts it again in 1 s; until then its requests go to the other servers$/,
      );

      process.kill(emulatorPid as number, 'SIGKILL');
      const emulatorLine = () => run.lines.find((l) => l.startsWith('npm start: the AWS emulator'));
      await waitFor(() => emulatorLine() !== undefined, 10_000, 'the line for the dead emulator');
      expect(emulatorLine()).toBe(
        `npm start: the AWS emulator (MiniStack) (pid ${emulatorPid}) was killed by SIGKILL: the proxy keeps routing ` +
          'to the servers it knows, but autoscaling, the records API, membership changes (servers joining or leaving ' +
          'the Ring table) and the load metrics stop; press Ctrl-C and run npm start again',
      );
      // One line per death, nothing for the parts still running; and routing rightly goes on.
      expect(run.lines.filter((l) => l.startsWith('npm start:'))).toHaveLength(2);
      const home = await request(`${proxyUrl}/home`);
      expect(home.statusCode).toBe(200);
      await home.body.dump();
    } finally {
      run.child.kill('SIGINT');
      await new Promise((r) => run.child.once('exit', r));
    }
  }, 60_000);
});

describe('a server on ECS', () => {
  it('registers under its task id, read from the task metadata endpoint', async () => {
    const metadata = createServer((req, res) => {
      if (req.url !== '/task') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ TaskARN: 'arn:aws:ecs:us-east-1:123456789012:task/ringmaster/0f1e2d3c4b5a' }));
    });
    await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
    const { port } = metadata.address() as AddressInfo;
    try {
      const server = await spawnUntil(
        [SERVER_BUNDLE],
        { SERVER_HOST: '127.0.0.1', SERVER_PORT: '0', ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${port}` },
        (l) => Boolean(parseServerReady(l)),
      );
      expect((parseServerReady(server.readyLine) as ServerReady).id).toBe('0f1e2d3c4b5a');
      expect(await stopProcess(server.child)).toBe(0);
      const broken = spawnUntil(
        [SERVER_BUNDLE],
        { SERVER_HOST: '127.0.0.1', SERVER_PORT: '0', ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${port}/nope` },
        () => false,
      );
      await expect(broken).rejects.toThrow(/ECS_CONTAINER_METADATA_URI_V4: cannot read the task metadata/);
    } finally {
      metadata.close();
    }
  });
});
