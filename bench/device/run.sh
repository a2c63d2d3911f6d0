#!/usr/bin/env bash
# Runs the WebGPU probe and the WebGPU ladder on an offline GPU host from the
# bundle pack.sh made (bench/device/README.md): no npm, no network, nothing
# installed. Unpacks bench/device/dist/zkp-device.tar.xz into a temporary
# folder, finds the Vulkan loader and the NVIDIA driver's ICD file (the
# bundle's loader only where the host has none), then runs, under one hard
# deadline (everything, unpacking included, ends within DEVICE_TOTAL_S,
# default 540 s):
#   1. the probe (`bench:webgpu --probe`, bench/device/probe.ts) with
#      DEVICE_PROBE_S (default 150 s, at most half of what is left; 0: none)
#      and the flags in DEVICE_PROBE_ARGS (default: the GPU host's sizes);
#   2. the ladder with all the time left.
# Each skips, with the reason, any stage it estimates would overrun; what
# still overruns is stopped (SIGTERM, then SIGKILL) and its report marked
# 'killed'. Leaves in $OUT (default ./out):
#   webgpu-probe.json, .md  the probe's report (bench/lib/webgpu-probe.ts)
#   probe.log     its output
#   report.json   the ladder's report (bench/device/report.ts)
#   ladder.log    its output
#   nvidia-smi.txt  nvidia-smi's own page, where the host has it
# Exit status: the ladder's when it is not 0 (0 when no stage failed or
# mismatched), else 1 when the probe had a stage fail or mismatch or was
# killed; 2 when the ladder could not start.
#
#   bash bench/device/run.sh
#   DEVICE_LADDER=small bash bench/device/run.sh        (any ladder.ts variable passes through)
#   DEVICE_PROBE_ARGS='--probe-msm-log2n 16,18' bash bench/device/run.sh
set -uo pipefail

started_s=$(date +%s)
total_s=${DEVICE_TOTAL_S:-540}
[[ $total_s =~ ^[0-9]+$ ]] && [ "$total_s" -ge 30 ] || {
  echo "run.sh: DEVICE_TOTAL_S must be a whole number of seconds, at least 30; got '$total_s'" >&2
  exit 2
}
probe_s=${DEVICE_PROBE_S:-150}
[[ $probe_s =~ ^[0-9]+$ ]] || {
  echo "run.sh: DEVICE_PROBE_S must be a whole number of seconds (0: no probe); got '$probe_s'" >&2
  exit 2
}
read -ra probe_args <<<"${DEVICE_PROBE_ARGS:-}"
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
cd "$work"

# The probe: at most half of the time left, so the ladder keeps the rest; its
# own deadline leaves 15 s for its summary and report. It writes its report
# after every stage, so one killed mid-stage keeps the stages before.
left_s=$((deadline_s - $(date +%s)))
[ "$probe_s" -le $((left_s / 2)) ] || probe_s=$((left_s / 2))
probe_status=0
probe_note=
rm -f "$OUT/webgpu-probe.json" "$OUT/webgpu-probe.md" "$OUT/probe.log"
if [ "${DEVICE_PROBE_S:-150}" = 0 ]; then
  probe_note="not run: DEVICE_PROBE_S=0"
elif [ "$probe_s" -lt 30 ]; then
  probe_note="not run: ${left_s} s left after unpacking; the probe needs 30 s and the ladder keeps half"
else
  say "probe: ${probe_s} s${DEVICE_PROBE_ARGS:+, flags: $DEVICE_PROBE_ARGS}"
  timeout --signal=TERM --kill-after=5 "$probe_s" "$work/runtime/node" --max-old-space-size=16384 dist/bench/device/probe.js \
    --probe-deadline-s "$((probe_s - 15))" "${probe_args[@]}" 2>&1 | tee "$OUT/probe.log"
  probe_status=${PIPESTATUS[0]}
fi
[ -z "$probe_note" ] || say "probe $probe_note"
# A probe killed before its end left status 'running' (or nothing): say so in its report.
"$work/runtime/node" -e '
  const fs = require("node:fs");
  const [path, status, note, share] = process.argv.slice(1);
  let report;
  try { report = JSON.parse(fs.readFileSync(path, "utf8")); } catch { report = null; }
  if (note !== "") report = { probe: 1, status: "skipped", reason: note, stages: [] };
  else if (report === null) report = { probe: 1, status: "crashed", reason: `no report was written; the probe exited with status ${status}; see probe.log`, stages: [] };
  else if (report.status === "running") Object.assign(report, { status: "killed", reason: `stopped by run.sh at its ${share} s share (exit status ${status}); the stages before are kept` });
  else { console.log(`probe report: ${report.status}; ${report.stages.map((s) => `${s.name} ${s.status}`).join(", ")}`); process.exit(0); }
  fs.writeFileSync(path, JSON.stringify(report, null, 2) + "\n");
  console.log(`probe report: ${report.status}: ${report.reason}`);
' "$OUT/webgpu-probe.json" "$probe_status" "$probe_note" "$probe_s"

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
if [ "$status" = 0 ] && [ "$probe_status" != 0 ]; then status=1; fi
say "done in $(($(date +%s) - started_s)) s, exit status $status (probe $probe_status); reports in $OUT/report.json and $OUT/webgpu-probe.json"
exit "$status"
