/**
 * The one line each runnable prints on stdout once it can take traffic and
 * its signal handlers are in place, so scripts, tests and benchmarks that
 * start it on port 0 learn its ports and may signal it at once.
 */
export interface ProxyReady {
  readonly ringmaster: 'ready';
  readonly proxyPort: number;
  readonly adminPort: number;
}

export interface ServerReady {
  readonly ringmaster: 'server-ready';
  readonly id: string;
  readonly address: string;
}

export function readyLine(ready: ProxyReady | ServerReady): string {
  return `${JSON.stringify(ready)}\n`;
}

/** The proxy's ready line, or undefined for any other line. */
export function parseProxyReady(line: string): ProxyReady | undefined {
  const value = parseLine(line);
  return value?.ringmaster === 'ready' && typeof value.proxyPort === 'number' && typeof value.adminPort === 'number'
    ? (value as unknown as ProxyReady)
    : undefined;
}

/** A server's ready line, or undefined for any other line. */
export function parseServerReady(line: string): ServerReady | undefined {
  const value = parseLine(line);
  return value?.ringmaster === 'server-ready' && typeof value.id === 'string' && typeof value.address === 'string'
    ? (value as unknown as ServerReady)
    : undefined;
}

function parseLine(line: string): Record<string, unknown> | undefined {
  // Log lines are JSON too; only ready lines start with this key, so most lines skip the parse.
  if (!line.startsWith('{"ringmaster":')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
