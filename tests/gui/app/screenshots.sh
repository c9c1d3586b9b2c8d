#!/bin/sh
# Usage: screenshots.sh KVSCOPE_GUI IMGCHECK SCENARIO OUTDIR
# Starts the real kvscope-gui under Xvfb once per view with --screenshot and checks each image
# (size, many distinct colours). Exit status 0 only if every view rendered and passed.
set -eu
gui=$1 check=$2 scenario=$3 out=$4
mkdir -p "$out"
status=0
for view in pareto memory throughput roofline paper; do
  png="$out/$view.png"
  rm -f "$png"
  if ! xvfb-run -a -s "-screen 0 2000x1200x24" "$gui" --scenario "$scenario" --view "$view" --screenshot "$png"; then
    echo "FAIL $view: kvscope-gui exited with an error" >&2
    status=1
    continue
  fi
  if ! "$check" "$png"; then
    status=1
  fi
done
exit $status
