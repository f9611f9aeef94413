#!/usr/bin/env bash
# GPU throughput of one SimCLR training step, ResNet-50 at 224 px, against lightly and the bare backbone.
# Run on a GPU node from the repository root, with the package installed: bash bench/gpu.sh
set -euo pipefail
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
for bs in 128 256; do
  python bench/train_step.py --device cuda --arch resnet50 --size 224 --batch "$bs" --reps 20 --channels-last
done
python bench/augment.py --device cuda --batch 256 --reps 20
python bench/loss.py --device cuda --sizes 4096,16384 --dims 8,128 --no-memory
