/** Entry point of the `zkp` command (see bin/zkp.js and docs/cli.md). */
import { releaseCurve } from '../prover/ffjs.ts';
import { runCli } from './run.ts';

const exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
// ffjavascript keeps worker threads alive; stop them so the process exits promptly.
await releaseCurve().catch(() => {});
process.exit(exitCode);
