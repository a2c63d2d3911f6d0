#!/usr/bin/env bash
# Builds the bundle that bench/device/run.sh runs on an offline GPU host
# (bench/device/README.md): bench/device/dist/zkp-device.tar.xz, holding
#   runtime/node                 this machine's Node.js binary (linux-x64)
#   dist/                        the ladder (bench/device/ladder.ts), the WebGPU probe (bench/device/probe.ts)
#                                and the modules they import, compiled; the probe's field-width WGSL beside its module
#   shaders/                     the WGSL the WebGPU backend assembles at run time
#   build/Release/zkp_native.node  the native addon (baseline, dev setup, verifier)
#   node_modules/                what dist/ imports statically, pruned (pack-modules.ts): webgpu with Dawn's linux-x64 binary only
#   lib/                         the Vulkan loader and libGLdispatch, used there only where the host lacks them
#   package.json, MANIFEST.json  the package root marker; what was packed, from which commit
# and, beside it, bench/device/dist/unxz/ (xz and liblzma) for a host without xz.
# Fails when the bundle, or everything under bench/device/dist, is over 60 MiB.
#
#   bash bench/device/pack.sh                          (xz -9)
#   DEVICE_PACK_XZ_LEVEL=0 bash bench/device/pack.sh   (fast, bigger: tests)
#   DEVICE_PACK_OUT=/some/dir bash bench/device/pack.sh  (writes there instead of bench/device/dist)
set -euo pipefail
cd "$(dirname "$0")/../.."

LIMIT_BYTES=$((60 * 1024 * 1024))
LEVEL=${DEVICE_PACK_XZ_LEVEL:-9}
NODE_BIN=$(command -v node)
OUT_DIR=${DEVICE_PACK_OUT:-bench/device/dist}
BUNDLE=$OUT_DIR/zkp-device.tar.xz
started_s=$(date +%s.%N)
say() { echo "pack: $*"; }
fail() {
  echo "pack: FAILED: $*" >&2
  exit 1
}

[[ $LEVEL =~ ^[0-9]$ ]] || fail "DEVICE_PACK_XZ_LEVEL must be 0..9, got '$LEVEL'"
[ "$(uname -m)" = x86_64 ] || fail "the bundle carries this machine's binaries, so it must be packed on x86_64 (this is $(uname -m))"
[ -f build/Release/zkp_native.node ] || fail "build/Release/zkp_native.node is missing: run npx node-gyp rebuild"
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || fail "node_modules/webgpu is missing its linux-x64 binary: run npm ci"

stage=$(mktemp -d "${TMPDIR:-/tmp}/zkp-device-pack.XXXXXX")
trap 'rm -rf "$stage"' EXIT

say "compiling the ladder, the probe and the modules they import"
node node_modules/typescript/bin/tsc -p bench/device/tsconfig.json --outDir "$stage/dist" || fail "tsc reported errors (above)"
# The probe's field stage reads these beside its compiled module (bench/experiments/field-width/shader.ts).
cp bench/experiments/field-width/*.wgsl "$stage/dist/bench/experiments/field-width/"

say "copying the packages it imports"
modules_json=$(npx --no-install tsx bench/device/pack-modules.ts "$stage") || fail "pack-modules failed"

mkdir -p "$stage/runtime" "$stage/build/Release" "$stage/lib"
cp "$NODE_BIN" "$stage/runtime/node"
cp -r shaders "$stage/shaders"
cp build/Release/zkp_native.node "$stage/build/Release/"
for library in libvulkan.so.1 libGLdispatch.so.0; do
  path=$(ldconfig -p | awk -v name="$library" '$1 == name && /x86-64/ && !found { print $NF; found = 1 }')
  [ -n "$path" ] || fail "$library is not installed here (apt-get install libvulkan1 libglvnd0)"
  cp -L "$path" "$stage/lib/$library"
done

# Outside a git checkout (an exported tree) the commit is DEVICE_PACK_COMMIT, else unknown.
commit=${DEVICE_PACK_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
dirty=$({ git status --porcelain -- src bench/device shaders native 2>/dev/null || true; } | wc -l)
node -e '
  const [root, stage, commit, dirty, level, modules] = process.argv.slice(1);
  const fs = require("node:fs");
  const pkg = JSON.parse(fs.readFileSync(`${root}/package.json`, "utf8"));
  fs.writeFileSync(`${stage}/package.json`, JSON.stringify({ name: pkg.name, version: pkg.version, type: "module", license: pkg.license, private: true }, null, 2) + "\n");
  const manifest = {
    packed_at: new Date().toISOString(),
    commit,
    uncommitted_changes: Number(dirty),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    xz_level: Number(level),
    entry: "dist/bench/device/ladder.js",
    probe_entry: "dist/bench/device/probe.js",
    modules: JSON.parse(modules),
  };
  fs.writeFileSync(`${stage}/MANIFEST.json`, JSON.stringify(manifest, null, 2) + "\n");
' "$PWD" "$stage" "$commit" "$dirty" "$LEVEL" "$modules_json"

say "$(du -sb "$stage" | cut -f1) bytes to compress with xz -$LEVEL"
mkdir -p "$OUT_DIR/unxz"
tar -C "$stage" --owner=0 --group=0 --sort=name -cf - . | xz "-$LEVEL" -T0 >"$BUNDLE.partial"
mv "$BUNDLE.partial" "$BUNDLE"
cp -L "$(command -v xz)" "$OUT_DIR/unxz/xz"
cp -L "$(ldconfig -p | awk '$1 == "liblzma.so.5" && /x86-64/ && !found { print $NF; found = 1 }')" "$OUT_DIR/unxz/liblzma.so.5"

bundle_bytes=$(stat -c %s "$BUNDLE")
carried_bytes=$(du -sb "$OUT_DIR" | cut -f1)
elapsed_s=$(echo "$(date +%s.%N) - $started_s" | bc)
say "$BUNDLE: $bundle_bytes bytes ($(echo "scale=1; $bundle_bytes / 1048576" | bc) MiB), $OUT_DIR in all $carried_bytes bytes; packed in ${elapsed_s%.*} s"
[ "$bundle_bytes" -le "$LIMIT_BYTES" ] || fail "the bundle is $bundle_bytes bytes, over the 60 MiB limit ($LIMIT_BYTES)"
[ "$carried_bytes" -le "$LIMIT_BYTES" ] || fail "$OUT_DIR holds $carried_bytes bytes, over the 60 MiB limit ($LIMIT_BYTES); remove what is not the bundle"
