#!/usr/bin/env bash
# On the GPU machine, in one device call: `dcgan bench` on WebGPU and the same model in PyTorch, and their ratio.
#   . .device/setup.sh && scripts/device-bench.sh [BATCH]        (after scripts/pack-device.sh here)
# Writes both results under $OUT when it is set (the device tool returns that folder).
set -uo pipefail
batch=${1:-256}
out=${OUT:-/tmp}
mkdir -p "$APP/node_modules" && cp -r .device/pokesprite-images "$APP/node_modules/" 2>/dev/null
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
"$NODE" "$APP/cli.mjs" bench --backend webgpu --batch-size "$batch" --json > "$out/dcgan-bench.json"
"$NODE" "$APP/cli.mjs" bench --backend webgpu --batch-size "$batch" --steps 1 --windows 1 --warmup 1 --warmup-seconds 0 --top 12 | tail -n +2
python3 .device/torch_dcgan.py "$batch" | tee "$out/torch.txt"
"$NODE" "$(dirname "$0")/bench-ratio.mjs" "$out/dcgan-bench.json" "$out/torch.txt"
