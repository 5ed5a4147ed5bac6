/**
 * MiniStack's local Lambda executor runs Node functions with the `node` it
 * finds on PATH, whatever the function's runtime says. .ci/run puts Node 24
 * first on PATH for that reason; this proves the emulator's Lambdas run on
 * the same Node as the tests (and so as the autoscaler on AWS, nodejs24.x).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { awsEnv } from '../helpers/aws.js';

const endpoint = inject('awsEndpoint');
const { AWS_REGION: region } = awsEnv();

/** A zip holding one file, made by Python's zipfile (Python is there for the emulator; Node has no zip writer). */
function zipOf(name: string, content: string): Buffer {
  const script =
    'import io,sys,zipfile\nb=io.BytesIO()\nwith zipfile.ZipFile(b,"w") as z: z.writestr(sys.argv[1], sys.argv[2])\nsys.stdout.buffer.write(b.getvalue())';
  return execFileSync(process.env.PYTHON ?? 'python3', ['-c', script, name, content]);
}

/** The Lambda REST API, unsigned: emulators check no signatures; the credential scope names the service. */
async function lambda(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${endpoint}${path}`, {
    method,
    headers: {
      authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/lambda/aws4_request, SignedHeaders=host, Signature=0`,
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`lambda ${method} ${path}: ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

describe("the emulator's local Lambda executor", () => {
  it('runs a nodejs24.x function on the Node first on PATH: the one these tests run on', async () => {
    const name = `rm-node-version-${randomBytes(3).toString('hex')}`;
    const code = 'export const handler = async () => ({ node: process.versions.node });\n';
    await lambda('POST', '/2015-03-31/functions', {
      FunctionName: name,
      Runtime: 'nodejs24.x',
      Role: 'arn:aws:iam::000000000000:role/rm-test',
      Handler: 'index.handler',
      Code: { ZipFile: zipOf('index.mjs', code).toString('base64') },
    });
    try {
      const result = (await lambda('POST', `/2015-03-31/functions/${name}/invocations`, {})) as { node?: string };
      expect(result.node).toBe(process.versions.node);
      expect(Number(result.node?.split('.')[0])).toBeGreaterThanOrEqual(24);
    } finally {
      await lambda('DELETE', `/2015-03-31/functions/${name}`);
    }
  });
});
