#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan + UBSan) and runs each for a bounded time over a
# copy of its seed corpus (tests/fuzz/corpus/<target>/). Every crash input ever found is kept in
# tests/fuzz/regressions/<target>/ and replayed first. Exit status is non-zero on any crash,
# sanitizer report, timeout or out-of-memory; the input that caused it is left in
# <build>/artifacts/ and the log in <build>/logs/<target>.log.
#
#   bash tests/fuzz/run.sh [SECONDS_PER_TARGET=20] [TARGET ...]
#
# Environment: KVSCOPE_FUZZ_BUILD_DIR (default build/fuzz), KVSCOPE_FUZZ_JOBS (targets run in
# parallel, default nproc), KVSCOPE_FUZZ_KEEP_CORPUS=1 merges newly found inputs back into the
# seed corpus (use when growing the corpus on purpose, then review the diff).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
[[ $# -gt 0 ]] && shift
build=${KVSCOPE_FUZZ_BUILD_DIR:-build/fuzz}
jobs=${KVSCOPE_FUZZ_JOBS:-$(nproc)}
src=tests/fuzz
start=$(date +%s)

echo "=== fuzz: configure + build (${build})"
CC=clang-14 CXX=clang++-14 cmake -S . -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DKVSCOPE_BUILD_FUZZ=ON -DKVSCOPE_BUILD_GUI=OFF -DKVSCOPE_ENABLE_CUDA=OFF -DKVSCOPE_BUILD_TESTS=OFF \
  -DKVSCOPE_BUILD_BENCH=OFF >"${build}.configure.log" 2>&1 || { cat "${build}.configure.log"; exit 1; }
cmake --build "${build}" --target fuzz_all -j "$(nproc)"
built=$(date +%s)
echo "=== fuzz: built in $((built - start)) s"

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < <(cd "${src}" && ls fuzz_*.cpp | sed 's/\.cpp$//')
fi
mkdir -p "${build}/logs" "${build}/artifacts" "${build}/corpus"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local t=$1 secs=$2 build=$3 src=$4
  local bin="${build}/fuzz/${t}" log="${build}/logs/${t}.log" work="${build}/corpus/${t}"
  rm -rf "${work}" && mkdir -p "${work}"
  if [[ -d "${src}/corpus/${t}" ]]; then cp -r "${src}/corpus/${t}/." "${work}/"; fi
  local dict=()
  [[ -f "${src}/${t}.dict" ]] && dict=(-dict="${src}/${t}.dict")
  # 1. Regression inputs: every crash found so far, replayed once each.
  if compgen -G "${src}/regressions/${t}/*" >/dev/null; then
    if ! "${bin}" "${src}/regressions/${t}/"* >"${log}.regressions" 2>&1; then
      echo "FAIL ${t}: a regression input crashes again (see ${log}.regressions)"
      return 1
    fi
  fi
  # 2. Bounded fuzzing over a copy of the seed corpus.
  if "${bin}" "${dict[@]}" -max_total_time="${secs}" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="${build}/artifacts/${t}-" "${work}" >"${log}" 2>&1; then
    local execs
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "${log}" | grep -o '[0-9]*$' || echo "?")
    local cov
    cov=$(grep -o 'cov: [0-9]*' "${log}" | tail -1 || true)
    echo "ok   ${t}: ${secs} s, ${execs} runs, ${cov}, corpus $(ls "${work}" | wc -l) inputs"
    if [[ "${KVSCOPE_FUZZ_KEEP_CORPUS:-0}" == 1 ]]; then
      mkdir -p "${src}/corpus/${t}"
      "${bin}" -merge=1 "${src}/corpus/${t}" "${work}" >>"${log}" 2>&1
    fi
  else
    echo "FAIL ${t}: crash or sanitizer report (log ${log}; input in ${build}/artifacts/${t}-*)"
    grep -E 'ERROR: |runtime error|invariant broken|terminate|Test unit written' "${log}" | head -8 | sed 's/^/     /'
    return 1
  fi
}
export -f run_one

echo "=== fuzz: ${#targets[@]} targets x ${secs} s, ${jobs} at a time"
status=0
printf '%s\n' "${targets[@]}" | xargs -P "${jobs}" -I{} bash -c 'run_one "$@"' _ {} "${secs}" "${build}" "${src}" || status=1
echo "=== fuzz: done in $(($(date +%s) - start)) s (build $((built - start)) s)"
exit ${status}
