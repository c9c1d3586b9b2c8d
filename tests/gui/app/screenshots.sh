#!/bin/sh
# Usage: screenshots.sh KVSCOPE_GUI IMGCHECK SCENARIO OUTDIR [WxH ...]
# Starts the real kvscope-gui under Xvfb once per view and size with --size and --screenshot and
# checks each image (exactly the asked size: the window fits it; many distinct colours). The first
# size (default 1366x768, a laptop screen) writes OUTDIR/VIEW.png, further sizes OUTDIR/VIEW-WxH.png.
# Exit status 0 only if every view rendered and passed.
set -eu
gui=$1 check=$2 scenario=$3 out=$4
shift 4
[ $# -gt 0 ] || set -- 1366x768
mkdir -p "$out"
status=0
first=$1
for size in "$@"; do
  w=${size%x*} h=${size#*x}
  for view in pareto memory throughput serving roofline paper; do
    if [ "$size" = "$first" ]; then png="$out/$view.png"; else png="$out/$view-$size.png"; fi
    rm -f "$png"
    if ! xvfb-run -a -s "-screen 0 ${w}x${h}x24" "$gui" --scenario "$scenario" --view "$view" --size "$size" --screenshot "$png"; then
      echo "FAIL $view at $size: kvscope-gui exited with an error" >&2
      status=1
      continue
    fi
    if ! "$check" "$png" "$w" "$h" 400 exact; then
      status=1
    fi
  done
done
exit $status
