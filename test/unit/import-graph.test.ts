import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.js';

/**
 * The proxy's import graph, read from its source files: every static
 * `import … from '…'`, `export … from '…'` and dynamic `import('…')` of a
 * file inside containers/proxy/src, by relative path or the `#proxy/` alias.
 */
const SRC = join(ROOT, 'containers/proxy/src');
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The proxy files `file` imports, as paths relative to containers/proxy/src. */
function importsOf(file: string): string[] {
  const out: string[] = [];
  for (const [, specifier] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
    let target: string | undefined;
    if (specifier?.startsWith('.')) target = resolve(dirname(file), specifier);
    else if (specifier?.startsWith('#proxy/')) target = join(SRC, specifier.slice('#proxy/'.length));
    if (target !== undefined) out.push(relative(SRC, target).replace(/\.js$/, '.ts'));
  }
  return out;
}

const graph = new Map(sourceFiles(SRC).map((file) => [relative(SRC, file), importsOf(file)]));

/** Every proxy file reachable from `start` through imports, `start` included. */
function reachable(start: string): Set<string> {
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    stack.push(...(graph.get(file) ?? []));
  }
  return seen;
}

const inExtensions = (file: string) => file.startsWith('extensions/');

describe('the proxy import graph', () => {
  it('is read from the sources (the composition root is seen mounting the records extension)', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('compose.ts')).toContain('extensions/records/records-extension.ts');
    expect(graph.get('extensions/records/records-api.ts')).toContain('admin/scale-routes.ts');
  });

  it('keeps the forwarding path and the fleet free of the extensions, directly or through anything they import', () => {
    const roots = [...graph.keys()].filter((f) => f.startsWith('forwarding/') || f.startsWith('fleet/'));
    expect(roots.length).toBeGreaterThan(10);
    for (const root of roots) {
      const reached = [...reachable(root)].filter(inExtensions);
      expect(reached, `${root} reaches ${reached.join(', ')}`).toEqual([]);
    }
  });

  it('mounts extensions in one place: only the composition root imports them', () => {
    const importers = [...graph]
      .filter(([file, imports]) => !inExtensions(file) && imports.some(inExtensions))
      .map(([file]) => file);
    expect(importers).toEqual(['compose.ts']);
  });
});
