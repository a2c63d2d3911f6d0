// npm's install step: builds the C++ addons with node-gyp unless they are already built
// from the current sources. `npx zkp` in a checkout installs the checkout itself into
// npm's cache, which runs this script again in place; an unconditional rebuild there took
// a minute and removed the addon while other processes were loading it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addons = ['zkp_native.node', 'zkp_fs_lock.node'].map((name) => join(root, 'build', 'Release', name));
const sources = [join(root, 'binding.gyp'), ...readdirSync(join(root, 'native')).map((name) => join(root, 'native', name))];

const builtAt_ms = Math.min(...addons.map((path) => (existsSync(path) ? statSync(path).mtimeMs : 0)));
const changedAt_ms = Math.max(...sources.map((path) => statSync(path).mtimeMs));
if (builtAt_ms > 0 && builtAt_ms >= changedAt_ms) {
  console.log('install: native addons are up to date (npm run build:native rebuilds them)');
} else {
  execFileSync(process.execPath, [join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild'], { cwd: root, stdio: 'inherit' });
}
