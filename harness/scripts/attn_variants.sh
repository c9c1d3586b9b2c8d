#!/usr/bin/env bash
# Tuning experiments for the decode-attention kernel (not part of the calibration run). Runs family 3
# under several settings. Experiment 1 (commit 7dfed05): bf16 stages 2/3 x cp.async L2 prefetch hint
# none/128/256 -> L2::128B with 2 stages kept. Experiment 2 (this version): CTAs per SM assumed by the
# split heuristic (KVBENCH_SPLIT_CTAS_PER_SM = occupancy / 2 / 1), i.e. fewer concurrent KV streams.
# Results: $OUT/attn-<setting>.json (+ .log). Usage: bash harness/scripts/attn_variants.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$root/kvbench-out}
mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH
cmake -S "$root/harness" -B "$root/build-kvbench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null 2>&1 && ninja -C "$root/build-kvbench" kvbench >/dev/null 2>&1 || exit 1
runs="occ 2 1"
for r in $runs; do
  if [ "$r" = occ ]; then unset KVBENCH_SPLIT_CTAS_PER_SM; else export KVBENCH_SPLIT_CTAS_PER_SM=$r; fi
  "$root/build-kvbench/kvbench" --full --families attention --out-json "$out/attn-$r.json" --out-csv /tmp/attn-$r.csv > "$out/attn-$r.log" 2>&1
  echo "split ctas/sm=$r rc=$?"
done
python3 - "$out" $runs <<'PY'
import json, sys
out = sys.argv[1]
for r in sys.argv[2:]:
    d = json.load(open(f"{out}/attn-{r}.json"))
    big = [b for b in d["benchmarks"] if b["axes"]["variant"] == "full" and b["axes"]["kv_dtype"] == "bf16" and b["kv_bytes_B"] >= 1e9]
    mid = [b for b in d["benchmarks"] if b["axes"]["variant"] == "full" and b["axes"]["kv_dtype"] == "bf16" and 0.1e9 <= b["kv_bytes_B"] < 1e9]
    fp8 = [b for b in d["benchmarks"] if b["axes"]["kv_dtype"] == "fp8" and b["kv_bytes_B"] >= 0.5e9]
    med = lambda v: sorted(v)[len(v)//2] if v else float("nan")
    print(f"split ctas/sm={r}: bf16>=1GB median {med([b['achieved_Bps'] for b in big])/1e9:.0f} GB/s "
          f"min {min(b['achieved_Bps'] for b in big)/1e9:.0f}; bf16 0.1-1GB median {med([b['achieved_Bps'] for b in mid])/1e9:.0f}; "
          f"fp8>=0.5GB {med([b['achieved_Bps'] for b in fp8])/1e9:.0f}; checks {d['run']['check_failures']}+{d['run']['benchmark_check_failures']}")
PY
