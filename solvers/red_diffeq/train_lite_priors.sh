#!/usr/bin/env bash
# Train the three lite diffusion priors shipped with invbench into solvers/red_diffeq/weights/.
#
# Each run trains RED-DiffEq's recipe scaled down to a CPU (preset "lite", see invbench/nn/diffusion/presets.py)
# on fresh procedural fields, exports float16 EMA weights (NAME.safetensors, ~6 MB) with a JSON manifest
# (NAME.json), and keeps a resumable training state in NAME.train/ (not shipped; delete it when done).
# Rerunning the script resumes unfinished runs; finished ones return at once.
#
# Usage: solvers/red_diffeq/train_lite_priors.sh [DOMAIN ...]     (default: fwi darcy-grf darcy-bimaterial)
# Environment: THREADS (torch threads, default: all cores), STEPS (default: the preset's), DEVICE (auto).
set -euo pipefail
cd "$(dirname "$0")/.."

INVBENCH=${INVBENCH:-invbench}
THREADS=${THREADS:-$(nproc)}
OUT_DIR=solvers/red_diffeq/weights
DOMAINS=("$@")
[ ${#DOMAINS[@]} -eq 0 ] && DOMAINS=(fwi darcy-grf darcy-bimaterial)

export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
for domain in "${DOMAINS[@]}"; do
    echo "== $domain (lite, $THREADS threads) =="
    "$INVBENCH" train-prior --domain "$domain" --preset lite \
        ${STEPS:+--steps "$STEPS"} --device "${DEVICE:-auto}" \
        --out "$OUT_DIR/$domain-lite.safetensors" --resume
done
ls -l "$OUT_DIR"/*.safetensors
du -ch "$OUT_DIR"/*.safetensors | tail -1
