#!/usr/bin/env bash
# clang-format check / fix for the C++ sources (.clang-format at the root).
#   scripts/format.sh --check   fail (status 1, with the diff) if a tracked C++ file is not formatted
#   scripts/format.sh --fix     format every tracked C++ file in place
# Every tracked .cpp / .hpp / .h / .cu / .cuh file is checked (the fuzz corpora aside: inputs, not
# code). The whole tree was formatted once in session 8; CI (scripts/test.sh) runs --check.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=check
for a in "$@"; do
  case $a in
    --check) mode=check ;;
    --fix) mode=fix ;;
    --all) ;;  # the default since session 8; still accepted
    *) echo "usage: scripts/format.sh [--check|--fix]" >&2; exit 2 ;;
  esac
done
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z "$cf" ]]; then echo "scripts/format.sh: clang-format not found (scripts/install-deps.sh installs clang-format-14)" >&2; exit 2; fi
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cu' '*.cuh' | grep -v '^tests/fuzz/corpus/')
if [[ $mode == fix ]]; then
  "$cf" -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f" >&2
    diff -u "$f" <("$cf" "$f") | head -20 >&2 || true
    bad=1
  fi
done
[[ $bad == 0 ]] && echo "clang-format: ${#files[@]} files clean"
exit $bad
