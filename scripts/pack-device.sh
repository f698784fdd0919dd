#!/usr/bin/env bash
# Packs the CLI for the GPU machine into .device/ (git-ignored): ../shared/device/pack.sh bundles it with Node.js,
# Dawn and sharp; the Pokémon sprites (data, not code) travel beside it for `--dataset pokesprite`.
#   usage, in the project root after `npm ci`:  scripts/pack-device.sh
# then, with the device tool (carry [".device"]):  . .device/setup.sh && scripts/device-bench.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
shared=${DCGAN_SHARED:-../shared}
bash "$shared/device/pack.sh" src/cli.ts
rm -rf .device/pokesprite-images && mkdir -p .device/pokesprite-images
src=node_modules/pokesprite-images
cp "$src/package.json" .device/pokesprite-images/
for d in pokemon-gen8 pokemon-gen7x; do cp -r "$src/$d" .device/pokesprite-images/; done
du -sh .device | sed 's/^/with the sprites: /'
