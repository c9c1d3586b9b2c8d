#!/usr/bin/env bash
# Installs kvscope's build and test dependencies on Debian 12 (bookworm) from Debian's own
# packages. Safe to run again. Needs root (or sudo).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev
  libfmt-dev libcli11-dev catch2
  qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6opengl6-dev libgl-dev
  qt6-qpa-plugins xvfb xauth
  clang-14 libclang-rt-14-dev clang-format-14 clang-tidy-14
  pybind11-dev python3-dev python3-numpy python3-pytest python3-pandas
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
