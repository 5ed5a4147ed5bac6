/** `npm run emulator:install`: puts the pinned MiniStack into .venv (a no-op when it is already there). */
import { resolve } from 'node:path';
import { ensureMiniStack } from './lib/emulator.js';

const root = resolve(import.meta.dirname, '../..');
process.stdout.write(`MiniStack ready at ${ensureMiniStack(root)}\n`);
