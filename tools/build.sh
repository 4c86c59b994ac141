#!/usr/bin/env bash
# Configures and builds kforge into ${KFORGE_BUILD:-build}. CUDA code is built when nvcc is found
# (set KFORGE_ENABLE_CUDA=OFF to skip it, e.g. for a quick CPU-only build).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${KFORGE_BUILD:-build}
# nvcc lives outside PATH on many machines.
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then export PATH=/usr/local/cuda/bin:$PATH; fi
cmake -S . -B "$build" -G Ninja -DKFORGE_ENABLE_CUDA="${KFORGE_ENABLE_CUDA:-ON}" ${KFORGE_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)"
