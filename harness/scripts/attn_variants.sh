#!/usr/bin/env bash
# Tuning experiment for the decode-attention kernel (not part of the calibration run): builds kvbench
# with 2 and 3 bf16 pipeline stages and runs family 3 with each cp.async L2 prefetch hint.
# Results: $OUT/attn-<stages>-<hint>.json (+ .log). Usage: bash harness/scripts/attn_variants.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$root/kvbench-out}
mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH
for st in 2 3; do
  cmake -S "$root/harness" -B "$root/build-kv-st$st" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_FLAGS="-DKVBENCH_BF16_STAGES=$st" >/dev/null 2>&1 && ninja -C "$root/build-kv-st$st" kvbench >/dev/null 2>&1 &
done
wait
runs="2:none 2:128 2:256 3:128"
for r in $runs; do
  st=${r%%:*}; hint=${r##*:}
  KVBENCH_CP_HINT=$hint "$root/build-kv-st$st/kvbench" --full --families attention \
    --out-json "$out/attn-$st-$hint.json" --out-csv /tmp/attn-$st-$hint.csv > "$out/attn-$st-$hint.log" 2>&1
  echo "stages=$st hint=$hint rc=$?"
done
python3 - "$out" $runs <<'PY'
import json, sys
out = sys.argv[1]
for r in sys.argv[2:]:
    st, hint = r.split(":")
    d = json.load(open(f"{out}/attn-{st}-{hint}.json"))
    big = [b for b in d["benchmarks"] if b["axes"]["variant"] == "full" and b["axes"]["kv_dtype"] == "bf16" and b["kv_bytes_B"] >= 1e9]
    ro = [b for b in d["benchmarks"] if b["axes"]["variant"] == "kv_read_only" and b["kv_bytes_B"] >= 0.5e9]
    fp8 = [b for b in d["benchmarks"] if b["axes"]["kv_dtype"] == "fp8" and b["kv_bytes_B"] >= 0.5e9]
    med = lambda v: sorted(v)[len(v)//2] if v else float("nan")
    print(f"stages={st} hint={hint}: bf16>=1GB median {med([b['achieved_Bps'] for b in big])/1e9:.0f} GB/s "
          f"min {min(b['achieved_Bps'] for b in big)/1e9:.0f}; kv_read_only {med([b['achieved_Bps'] for b in ro])/1e9:.0f}; "
          f"fp8>=0.5GB {med([b['achieved_Bps'] for b in fp8])/1e9:.0f}; checks {d['run']['check_failures']}+{d['run']['benchmark_check_failures']}")
PY
