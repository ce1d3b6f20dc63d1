#!/usr/bin/env bash
# The GPU check of issue 6, for a lent device machine (an NVIDIA GPU and PyTorch, but no Node; see the device tool's
# README): bench:train on the webgpu backend (Dawn over NVIDIA's Vulkan driver) beside PyTorch on CUDA, same models
# and shapes, one table. Two steps:
#
#   bash bench/gpu-check.sh pack                 # here: writes .gpu-check/ (see below), to be carried
#   bash bench/gpu-check.sh run [--quick|--rows …]   # there, as the device command, with carry [".gpu-check", ".gl"]
#
# .gpu-check/ holds Node (xz-compressed), bench/train.ts bundled into one file, the packages it loads at run time
# with only the files Node loads from them (tfjs's single-file CommonJS builds, Dawn's binary for linux-x64), and
# bench/torch_peer.py. The Vulkan loader comes from .gl/ as the device README describes (`run` unpacks it).
# `run` also works here on Mesa's software Vulkan (lavapipe): slow, but it tests the pack (`--torch-device cpu`).
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=.gpu-check

pack() {
  rm -rf "$PACK"
  mkdir -p "$PACK/node_modules"
  xz -T0 -6 -c "$(command -v node)" >"$PACK/node.xz"
  npx esbuild bench/train.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
    --outfile="$PACK/train.mjs"
  cp bench/torch_peer.py "$PACK/"
  # Each package: its package.json and the files its entry point loads.
  node - "$PACK/node_modules" <<'EOF'
const fs = require("fs");
const path = require("path");
const out = process.argv[2];
const copy = (pkg, files) => {
  for (const file of ["package.json", ...files]) {
    const from = path.join("node_modules", pkg, file);
    const to = path.join(out, pkg, file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.cpSync(from, to, { recursive: true });
  }
};
const main = (pkg) => require(path.resolve("node_modules", pkg, "package.json")).main;
for (const pkg of ["tfjs", "tfjs-core", "tfjs-layers", "tfjs-converter", "tfjs-data", "tfjs-backend-cpu", "tfjs-backend-webgl", "tfjs-backend-webgpu"]) {
  copy(`@tensorflow/${pkg}`, [main(`@tensorflow/${pkg}`)]);
}
copy("webgpu", ["index.js", "dist/linux-x64"]);
for (const pkg of ["debug", "ms", "seedrandom", "long"]) copy(pkg, fs.readdirSync(path.join("node_modules", pkg)).filter((f) => f !== "package.json"));
EOF
  du -sh "$PACK"
}

run() {
  [ -d "$PACK" ] || { echo "gpu-check: no $PACK here: run 'bash bench/gpu-check.sh pack' first and carry it" >&2; exit 1; }
  # The Vulkan loader (and NVIDIA's driver files) as the device README says; not needed where Vulkan is installed.
  if [ -d .gl ] && ! ldconfig -p | grep -q libvulkan; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  if [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  fi
  local node="$PACK/node"
  [ -x "$node" ] || { xz -dc "$PACK/node.xz" >"$node"; chmod +x "$node"; }
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  local device=cuda
  python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null || device=cpu
  # From inside the pack, so that lib/compute/backend.ts resolves the packages there.
  (cd "$PACK" && BENCH_PYTHON="$(command -v python3)" ./node train.mjs --backend webgpu --torch-device "$device" "$@")
}

case "${1:-}" in
  pack) pack ;;
  run) shift; run "$@" ;;
  *) echo "usage: bash bench/gpu-check.sh pack | run [bench:train arguments]" >&2; exit 2 ;;
esac
