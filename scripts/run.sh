#!/usr/bin/env bash
# Installs the dependencies (Debian 12 packages), builds kvscope (release preset) and runs the
# main job on its embedded default: `kvscope explore` — for a Llama-3-8B-shaped model on an H100
# at 32k context, which head/layer-sharing choices are on the frontier of KV memory vs. estimated
# quality, and of tokens/s vs. latency. Plots and tables go to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target kvscope kvscope-gui
mkdir -p out
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
./build/release/cli/kvscope explore --out-dir out "$@"
