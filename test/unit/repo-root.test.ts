import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RepoRootError, repoRoot } from '#devkit/repo-root.js';

describe('repoRoot (tools/devkit/repo-root.ts), the one way to find the repository root', () => {
  it('finds the checkout from its own module, and from any depth below the root, as a bundle in dist/ would', () => {
    const root = repoRoot();
    expect(existsSync(join(root, 'cdk.json'))).toBe(true);
    expect(repoRoot(join(root, 'dist', 'scripts'))).toBe(root);
    expect(repoRoot(join(root, 'test', 'unit'))).toBe(root);
  });

  it('says where it looked when no Ringmaster package.json is above', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'ringmaster-no-root-'));
    expect(() => repoRoot(elsewhere)).toThrow(RepoRootError);
    expect(() => repoRoot(elsewhere)).toThrow(`no ringmaster package.json at or above ${elsewhere}`);
  });
});
