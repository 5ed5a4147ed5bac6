// Stops an npm script at once, with install instructions, when the running Node is older than
// package.json's `engines.node`. It runs before anything else (and on any Node that can load an
// ES module), so it imports only node: built-ins and uses no syntax newer than Node 14's.
// Imported for its effect by scripts/build.mjs; run directly as `node scripts/require-node.mjs`.
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);

/** `>=X.Y.Z` from package.json: the only engines form this check understands. */
export function minimumVersion(engines) {
  const match = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(String(engines).trim());
  if (match === null) {
    throw new Error(`package.json engines.node: expected ">=X.Y.Z", got ${JSON.stringify(engines)}`);
  }
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** True when `version` ("24.21.0", "v20.20.2") is at least `minimum` ([major, minor, patch]). */
export function satisfies(version, minimum) {
  const parts = String(version).replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const have = parts[i] || 0;
    if (have !== minimum[i]) return have > minimum[i];
  }
  return true;
}

/** The message for a Node that is too old; `pinned` is .nvmrc's exact version (CI's and the images'). */
export function tooOldMessage(running, execPath, minimum, pinned) {
  const major = minimum[0];
  return [
    `Ringmaster needs Node.js ${minimum.join('.')} or later (Node ${major} LTS); this is Node ${running} (${execPath}).`,
    `Install Node ${major} and run the command again, with either:`,
    `  nvm install            # reads .nvmrc: ${pinned}`,
    `  npm i --prefix ~/node${major} node@${pinned} && export PATH="$HOME/node${major}/node_modules/.bin:$PATH"`,
    `The containers run the same version (containers/*/Dockerfile) and CI installs it the same way (.ci/run).`,
  ].join('\n');
}

function read(name) {
  return readFileSync(new URL(name, root), 'utf8');
}

const minimum = minimumVersion(JSON.parse(read('package.json')).engines?.node);
if (!satisfies(process.versions.node, minimum)) {
  process.stderr.write(`${tooOldMessage(process.versions.node, process.execPath, minimum, read('.nvmrc').trim())}\n`);
  process.exit(1);
}
