import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.js';

/** The README is the ten-minute read; depth belongs in docs/ (issue 17). */
const README_MAX_BYTES = 20_000;
/** Prose lines longer than this are unreadable in a terminal or a diff; tables and code are exempt. */
const README_MAX_LINE_CHARS = 120;

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

/** Markdown outside fenced code blocks and inline code spans, where a `[x](y)` is not a link. */
function proseOf(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Every inline link and image target, as written: `[text](target)` and `![alt](target "title")`. */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const match of proseOf(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1];
    if (target !== undefined) targets.push(target);
  }
  return targets;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a page's headings make (outside fenced code, where a `#` line is a comment). */
function anchorsOf(markdown: string): Set<string> {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...prose.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1] ?? '')));
}

function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#');
}

const pages = [join(ROOT, 'README.md'), ...markdownFiles(join(ROOT, 'docs'))];

describe('documentation', () => {
  it('finds the pages and their links (the scan itself works)', () => {
    expect(pages.length).toBeGreaterThan(5);
    expect(linkTargets('see [a](b.md#c), ![i](x.png "t") and `[not](a-link.md)`')).toEqual(['b.md#c', 'x.png']);
    expect([...anchorsOf('# T\n## Data planes (`DATA_PLANE`)\n```sh\n# not a heading\n```\n')]).toEqual([
      't',
      'data-planes-data_plane',
    ]);
  });

  it.each(pages.map((page) => [relative(ROOT, page), page]))(
    '%s: every relative link points at a file that exists',
    (_name, page) => {
      const missing = linkTargets(readFileSync(page, 'utf8'))
        .filter((target) => !isExternal(target))
        .map((target) => {
          const file = decodeURIComponent(target.split('#')[0] ?? '');
          return relative(ROOT, join(dirname(page), file));
        })
        .filter((path) => !existsSync(join(ROOT, path)));
      expect(missing).toEqual([]);
    },
  );

  it.each(pages.map((page) => [relative(ROOT, page), page]))(
    '%s: every anchor into a page names one of its headings',
    (_name, page) => {
      const missing = linkTargets(readFileSync(page, 'utf8'))
        .filter((target) => target.includes('#') && (target.startsWith('#') || !isExternal(target)))
        .filter((target) => {
          const [file = '', anchor = ''] = target.split('#');
          const path = file === '' ? page : join(dirname(page), decodeURIComponent(file));
          if (!path.endsWith('.md') || !existsSync(path)) return false;
          return !anchorsOf(readFileSync(path, 'utf8')).has(anchor);
        });
      expect(missing).toEqual([]);
    },
  );

  it(`README.md stays under ${README_MAX_BYTES} bytes, with no prose line over ${README_MAX_LINE_CHARS} characters`, () => {
    const readme = readFileSync(join(ROOT, 'README.md'));
    expect(readme.byteLength).toBeLessThan(README_MAX_BYTES);
    const longLines = proseOf(readme.toString('utf8'))
      .split('\n')
      .filter((line) => line.length > README_MAX_LINE_CHARS && !line.trimStart().startsWith('|'));
    expect(longLines).toEqual([]);
  });

  // A merge once left its markers in the README; a page that carries them reads as two versions of itself.
  it.each(pages.map((page) => [relative(ROOT, page), page]))('%s: no merge-conflict markers', (_name, page) => {
    const markers = readFileSync(page, 'utf8')
      .split('\n')
      .filter((line) => /^(<{7}|>{7})( |$)|^={7}$/.test(line));
    expect(markers).toEqual([]);
  });
});
