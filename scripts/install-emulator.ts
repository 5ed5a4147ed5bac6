/** `npm run emulator:install`: puts the pinned MiniStack and cfn-lint into .venv (a no-op when they are already there). */
import { resolve } from 'node:path';
import { ensureCfnLint, ensureMiniStack } from './lib/emulator.js';

const root = resolve(import.meta.dirname, '../..');
process.stdout.write(`MiniStack ready at ${ensureMiniStack(root)}\n`);
process.stdout.write(`cfn-lint ready at ${ensureCfnLint(root)}\n`);
