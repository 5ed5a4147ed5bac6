// Types for scripts/require-node.mjs (plain JavaScript so that it runs on any Node before the build).
export declare function minimumVersion(engines: unknown): [number, number, number];
export declare function satisfies(version: string, minimum: readonly [number, number, number]): boolean;
export declare function tooOldMessage(
  running: string,
  execPath: string,
  minimum: readonly [number, number, number],
  pinned: string,
): string;
