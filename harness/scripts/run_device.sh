#!/usr/bin/env bash
# The one script a GPU-machine call runs:  bash harness/scripts/run_device.sh quick|full
# Builds kvbench standalone (CMake + Ninja), runs the correctness checks, runs kvbench, runs the PyTorch
# SDPA comparison on the same attention shapes, and copies JSON + CSV + logs into $OUT (or ./kvbench-out).
# Env: KVBENCH_GIT_SHA (recorded in the JSON), KVBENCH_FAMILIES (optional subset), KVBENCH_NOTES.
set -uo pipefail
mode=${1:-quick}
case "$mode" in quick|full) ;; *) echo "usage: $0 quick|full" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$root/kvbench-out}
mkdir -p "$out"
log="$out/kvbench-$mode.log"
exec > >(tee -a "$log") 2>&1
export PYTHONUNBUFFERED=1
sha=${KVBENCH_GIT_SHA:-$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)}
echo "== kvbench device run: mode=$mode sha=$sha host=$(hostname) date=$(date -u +%FT%TZ)"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.sm,power.limit,ecc.mode.current --format=csv 2>&1 | head -3
t0=$(date +%s)
build="$root/build-kvbench"
export PATH=/usr/local/cuda/bin:$PATH
cmake -S "$root/harness" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$out/build.log" 2>&1 \
  && ninja -C "$build" -j "$(nproc)" kvbench >>"$out/build.log" 2>&1
rc=$?
echo "== build rc=$rc in $(( $(date +%s) - t0 )) s"
if [ $rc -ne 0 ]; then tail -40 "$out/build.log"; exit $rc; fi
bin="$build/kvbench"
json="$out/kvbench-$mode.json"; csv="$out/kvbench-$mode.csv"
fam_args=()
[ -n "${KVBENCH_FAMILIES:-}" ] && fam_args=(--families "$KVBENCH_FAMILIES")
"$bin" --"$mode" --out-json "$json" --out-csv "$csv" --git-sha "$sha" --notes "${KVBENCH_NOTES:-}" "${fam_args[@]}"
krc=$?
echo "== kvbench rc=$krc after $(( $(date +%s) - t0 )) s"
if [ -f "$json" ] && { [ -z "${KVBENCH_FAMILIES:-}" ] || [[ "${KVBENCH_FAMILIES}" == *attention* ]]; }; then
  python3 "$root/harness/scripts/sdpa_bench.py" --kvbench-json "$json" --out-json "$out/sdpa-$mode.json" \
    --out-csv "$out/sdpa-$mode.csv" --git-sha "$sha"
  echo "== sdpa rc=$? after $(( $(date +%s) - t0 )) s"
fi
ls -la "$out"
exit $krc
