#!/usr/bin/env bash
# Runs every test: installs dependencies (Debian 12 packages), builds the `dev` preset (tests,
# GUI, CUDA harness compiled when nvcc is present) and the `asan` preset (ASan + UBSan), and runs
# the whole CTest suite in both, then the sweep-engine thread tests under ThreadSanitizer (`tsan`)
# and the fuzzers. Exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export QT_QPA_PLATFORM=offscreen
# Format check of every tracked C++ file (scripts/format.sh). KVSCOPE_SKIP_FORMAT=1 skips it.
if [[ -z "${KVSCOPE_SKIP_FORMAT:-}" ]]; then
  echo "=== clang-format check"
  bash scripts/format.sh --check
fi
jobs=$(nproc)
for preset in ${KVSCOPE_TEST_PRESETS:-dev asan}; do
  echo "=== preset ${preset}: configure + build"
  cmake --preset "${preset}" >/dev/null
  cmake --build --preset "${preset}" -j "${jobs}"
  echo "=== preset ${preset}: test"
  ctest --preset "${preset}"
done
# ThreadSanitizer over the sweep engine's thread tests only (tests/explorer/test_explore_threads.cpp):
# the `tsan` build preset builds the libraries and that one executable, the test preset runs only
# its cases; ~3-4 min on 2 cores. KVSCOPE_SKIP_TSAN=1 skips it.
if [[ -z "${KVSCOPE_SKIP_TSAN:-}" ]]; then
  echo "=== preset tsan: configure + build (test_threads only)"
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan -j "${jobs}"
  echo "=== preset tsan: test (threads)"
  ctest --preset tsan
fi
# libFuzzer targets (clang 14, ASan + UBSan), 15 s each over their seed corpora; ~2-3 min on
# 2 cores including the build. KVSCOPE_SKIP_FUZZ=1 skips it.
if [[ -z "${KVSCOPE_SKIP_FUZZ:-}" ]]; then
  echo "=== fuzz: build + run every target for 15 s"
  bash tests/fuzz/run.sh 15
fi
