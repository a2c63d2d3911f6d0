#!/usr/bin/env bash
# One-shot set-up on a fresh Debian bookworm machine: system packages (lavapipe
# for the WebGPU tests), npm packages, the native addon (built by npm's
# install script through node-gyp) and the compiled code (dist/). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
  bash scripts/setup-system.sh
else
  echo "setup: not root, skipping system packages (run 'sudo bash scripts/setup-system.sh' for the WebGPU tests)" >&2
fi

# npm 11 does not run dependencies' install scripts unless allowed; none of
# ours need them (webgpu and esbuild ship prebuilt binaries), but the
# project's own install script (node-gyp rebuild) always runs.
npm ci --no-audit --no-fund
test -f build/Release/zkp_native.node || npx node-gyp rebuild
# The compiled code in dist/ that bin/zkp.js and the project's processes run.
npm run build
echo "setup: done"
