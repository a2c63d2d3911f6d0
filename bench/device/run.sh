#!/usr/bin/env bash
# Runs the WebGPU ladder on an offline GPU host from the bundle pack.sh made
# (bench/device/README.md): no npm, no network, nothing installed. Unpacks
# bench/device/dist/zkp-device.tar.xz into a temporary folder, finds the
# Vulkan loader and the NVIDIA driver's ICD file (the bundle's loader only
# where the host has none), and runs the ladder under a hard deadline:
# everything, unpacking included, ends within DEVICE_TOTAL_S (default 480 s).
# The ladder skips, with the reason, any stage it estimates would overrun;
# what still overruns is stopped (SIGTERM, then SIGKILL 10 s later) and the
# report marked 'killed'. Leaves in $OUT (default ./out):
#   report.json   the ladder's report (bench/device/report.ts)
#   ladder.log    its output
#   nvidia-smi.txt  nvidia-smi's own page, where the host has it
# Exit status: the ladder's (0 when no stage failed or mismatched), 2 when it could not start.
#
#   bash bench/device/run.sh
#   DEVICE_LADDER=small bash bench/device/run.sh        (any ladder.ts variable passes through)
set -uo pipefail

started_s=$(date +%s)
total_s=${DEVICE_TOTAL_S:-480}
[[ $total_s =~ ^[0-9]+$ ]] && [ "$total_s" -ge 30 ] || {
  echo "run.sh: DEVICE_TOTAL_S must be a whole number of seconds, at least 30; got '$total_s'" >&2
  exit 2
}
deadline_s=$((started_s + total_s))
here=$(cd "$(dirname "$0")" && pwd)
bundle=${DEVICE_BUNDLE:-$here/dist/zkp-device.tar.xz}
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
say() { echo "[run.sh $(date -u +%H:%M:%S)] $*"; }

if [ ! -f "$bundle" ]; then
  echo "run.sh: no bundle at $bundle: run bash bench/device/pack.sh where npm works and carry bench/device/dist" >&2
  exit 2
fi

work=$(mktemp -d "${DEVICE_TMP:-${TMPDIR:-/tmp}}/zkp-device.XXXXXX")
trap 'rm -rf "$work"' EXIT

say "unpacking $bundle ($(stat -c %s "$bundle") bytes) into $work"
unpack_started_ms=$(date +%s%3N)
if command -v xz >/dev/null; then
  tar -C "$work" -xJf "$bundle"
elif [ -x "$here/dist/unxz/xz" ]; then
  LD_LIBRARY_PATH="$here/dist/unxz" "$here/dist/unxz/xz" -dc "$bundle" | tar -C "$work" -xf -
else
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$bundle" | tar -C "$work" -xf -
fi
[ -x "$work/runtime/node" ] || {
  echo "run.sh: the bundle did not unpack (no runtime/node in $work)" >&2
  exit 2
}
export DEVICE_UNPACK_MS=$(($(date +%s%3N) - unpack_started_ms))
say "unpacked in ${DEVICE_UNPACK_MS} ms"

# The Vulkan loader and libGLdispatch (which NVIDIA's Vulkan driver library
# may need): the host's where it has them, else the bundle's.
notes=()
mkdir -p "$work/host-missing"
for library in libvulkan.so.1 libGLdispatch.so.0; do
  if ldconfig -p 2>/dev/null | grep -q "^[[:space:]]*$library "; then
    notes+=("$library: host")
  else
    ln -s "$work/lib/$library" "$work/host-missing/$library"
    notes+=("$library: bundled (none on the host)")
  fi
done
export LD_LIBRARY_PATH="$work/host-missing${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The loader looks for ICD files in /etc, /usr/share and /usr/local/share; a
# driver mounted under /usr/local/nvidia keeps its own there.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  if ! ls /etc/vulkan/icd.d/*nvidia* /usr/share/vulkan/icd.d/*nvidia* /usr/local/share/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/icd.d/nvidia_icd.json; do
      if [ -f "$icd" ]; then
        export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
        break
      fi
    done
  fi
fi
notes+=("ICD: ${VK_DRIVER_FILES:-the search path of the loader}")
icd_files=$(ls /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d 2>/dev/null | grep -c '\.json$')
notes+=("ICD files in the standard folders: $icd_files; NVIDIA GL/Vulkan libraries known to ldconfig: $(ldconfig -p 2>/dev/null | grep -c 'libGLX_nvidia\|libnvidia-glcore')")
export DEVICE_VULKAN_NOTES="${notes[*]}"
say "vulkan: $DEVICE_VULKAN_NOTES"

if command -v nvidia-smi >/dev/null; then timeout 15 nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || true; fi

# The ladder's own deadline leaves 20 s for the stop, the kill and the report.
left_s=$((deadline_s - $(date +%s)))
if [ "$left_s" -lt 30 ]; then
  echo "run.sh: only ${left_s} s left after unpacking; not starting the ladder" >&2
  exit 2
fi
export DEVICE_DEADLINE_EPOCH_MS=$(((deadline_s - 20) * 1000))
export DEVICE_WORK_DIR="$work/scratch" OUT
mkdir -p "$DEVICE_WORK_DIR"
say "ladder ${DEVICE_LADDER:-full}: ${left_s} s left, ladder deadline $(date -u -d "@$((deadline_s - 20))" +%H:%M:%S)"
cd "$work"
timeout --signal=TERM --kill-after=10 "$((left_s - 12))" "$work/runtime/node" --max-old-space-size=16384 dist/bench/device/ladder.js 2>&1 | tee "$OUT/ladder.log"
status=${PIPESTATUS[0]}

# A ladder stopped by SIGKILL could not mark its report: do it here. Then one
# line per rung, so the end of the output says what happened even after a kill.
"$work/runtime/node" -e '
  const fs = require("node:fs");
  const [path, status] = process.argv.slice(1);
  let report;
  try { report = JSON.parse(fs.readFileSync(path, "utf8")); } catch { report = null; }
  if (report === null) {
    fs.writeFileSync(path, JSON.stringify({ schema: "zkp-device-ladder/1", status: "crashed", warnings: [`no report was written; the ladder exited with status ${status}; see ladder.log`], stages: [] }, null, 2) + "\n");
  } else if (report.status === "running") {
    report.status = "killed";
    report.warnings.push(`stopped by run.sh at its deadline (exit status ${status})`);
    fs.writeFileSync(path, JSON.stringify(report, null, 2) + "\n");
  }
  const final = JSON.parse(fs.readFileSync(path, "utf8"));
  console.log(`report: ${final.status}; ${(final.stages ?? []).map((s) => `${s.stage}${s.log2n === null ? "" : " " + s.log2n} ${s.status}`).join(", ")}`);
' "$OUT/report.json" "$status"
say "done in $(($(date +%s) - started_s)) s, exit status $status; report in $OUT/report.json"
exit "$status"
