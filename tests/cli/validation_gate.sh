#!/usr/bin/env bash
# CI gate for issue #6: recompute the calibration of one GPU from the committed kvbench results
# (data/calibration/<gpu>/kvbench-*.json, families 1-5), then predict the committed end-to-end
# points (family 6, never fitted) and fail if the error grows past the goal:
# mean absolute error <= 5 %, worst point <= 15 %. Also checks that the shipped profile
# data/gpus/<gpu>.json is what the fit gives today (so a model change cannot silently leave
# the shipped profile stale).
# Usage: validation_gate.sh KVSCOPE_BINARY GPU_ID SOURCE_DIR
set -euo pipefail
kv=$1 gpu=$2 src=$3
dir="$src/data/calibration/$gpu"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mapfile -t files < <(ls "$dir"/kvbench-*.json | sort)
full=$(ls "$dir"/kvbench-full-*.json | sort | tail -n 1)
"$kv" calibrate "${files[@]}" --gpu "$gpu" -o "$tmp/profile.json" >/dev/null
# The shipped profile's calibrated numbers must equal the fresh fit's (relative 1e-6: the fit
# may differ in the last bits between compilers and build types).
extract() { sed -n '/"calibration"/,/}/p' "$1" | grep -E '^ *"[A-Za-z0-9_]+": *-?[0-9.]+(E[-+]?[0-9]+)?,?$' | tr -d ' ",' | tr ':' ' '; }
if ! awk 'NR == FNR { want[$1] = $2; next }
          { if (!($1 in want)) { print "missing " $1; bad = 1; next }
            d = $2 - want[$1]; if (d < 0) d = -d; m = $2 < 0 ? -$2 : $2; if (m < 1) m = 1
            if (d > 1e-6 * m) { print $1 ": shipped " want[$1] ", fresh fit " $2; bad = 1 } }
          END { exit bad }' <(extract "$src/data/gpus/$gpu.json") <(extract "$tmp/profile.json"); then
  echo "data/gpus/$gpu.json is stale: its calibration differs from a fresh fit; run scripts/calibrate.sh" >&2
  exit 1
fi
"$kv" validate "$full" --gpu "$tmp/profile.json" --max-mape 5 --max-worst 15 | grep "points: mean absolute error"
# The hold-out shapes (never fitted, measured after the model was built) under the same goal.
for ho in $(ls "$dir"/holdout-e2e-*.json 2>/dev/null | sort); do
  "$kv" validate "$ho" --gpu "$tmp/profile.json" --max-mape 5 --max-worst 15 | grep "points: mean absolute error"
done
