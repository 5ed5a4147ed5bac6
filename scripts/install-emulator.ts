/** `npm run emulator:install`: puts the pinned MiniStack and cfn-lint into .venv (a no-op when they are already there). */
import { ensureCfnLint, ensureMiniStack } from '#devkit/emulator.js';
import { repoRoot } from '#devkit/repo-root.js';

const root = repoRoot();
process.stdout.write(`MiniStack ready at ${ensureMiniStack(root)}\n`);
process.stdout.write(`cfn-lint ready at ${ensureCfnLint(root)}\n`);
