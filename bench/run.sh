#!/usr/bin/env bash
# Builds bench_explore and bench_simulate in Release and writes bench/RESULTS.md (machine, date,
# compiler, tables).
#   bench/run.sh [--quick]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KVSCOPE_BENCH_BUILD:-$root/build-bench}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKVSCOPE_BUILD_GUI=OFF -DKVSCOPE_ENABLE_CUDA=OFF \
      -DKVSCOPE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target bench_explore bench_simulate
cxx=$(grep -m1 '^CMAKE_CXX_COMPILER:' "$build/CMakeCache.txt" | cut -d= -f2)
table=$("$build/bench/bench_explore" "$@")
sim_table=$("$build/bench/bench_simulate" "$@")
{
  echo "# bench_explore results"
  echo
  echo "Written by \`bench/run.sh\`. Release build (-O3 via CMAKE_BUILD_TYPE=Release)."
  echo
  echo "- machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- compiler: $("$cxx" --version | head -1)"
  echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  echo "Explorer rows: 24 architectures (Llama-3-8B shape, kv_heads 1..32 x CLA 1..4) x 2 GPUs x 128"
  echo "contexts x B batches, TPOT limit 50 ms, constraint feasible == 1, objectives"
  echo "kv_cache_bytes:min, decode_tokens_per_s:max; \`seconds\` includes building the per-architecture"
  echo "tables and the final frontier re-evaluation. The models::evaluate() row runs the same kind of"
  echo "points one by one without the explorer's memoization."
  echo
  echo "$table"
  echo
  echo "## bench_simulate"
  echo
  echo "Serving simulator (kvscope simulate), one core: Llama-3-8B / Mistral-7B on the H100 SXM profile,"
  echo "torch-flash stack, engine defaults; best run of those fitting 0.5 s. \`seconds\` is one whole"
  echo "simulation (request generation, every iteration, statistics)."
  echo
  echo "$sim_table"
} > "$root/bench/RESULTS.md"
cat "$root/bench/RESULTS.md"
