#!/usr/bin/env node
// The `zkp` command: runs the compiled code in dist/ (no compiler at run time).
// `npm run build` (or `bash scripts/setup.sh`) creates it from src/.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('zkp: the compiled code (dist/) is missing; run `npm run build` (or `bash scripts/setup.sh`) first\n');
  process.exit(12); // FAILED_PRECONDITION
}
await import(main.href);
