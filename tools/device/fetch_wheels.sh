#!/usr/bin/env bash
# Here (a machine that reaches PyPI): downloads the Python wheels the GPU machine lacks for the
# peer benchmarks (tools/peers/) into .deps/wheels/ (git-ignored). A device call carries them with
# carry [".deps/wheels"]; tools/device/install_wheels.sh installs them there.
#   tools/device/fetch_wheels.sh
#
# FLA 0.6.0: fla-core (the ops, needs torch, triton, einops) and flash-linear-attention (layers and
# models, needs transformers >=5.6.2,<6), both pure Python. The device image has torch 2.11, triton
# 3.6, einops and transformers 5.17 (/work/.library/device/KINDS.md), so no other wheel is needed.
#
# FlashInfer is not fetched: flashinfer-python 0.7.2.post1 is a 62 MB wheel, and its Hopper GDN
# kernels are CuTe-DSL, which needs nvidia-cutlass-dsl with nvidia-cutlass-dsl-libs-cu13 (92 MB);
# one device call carries at most 64 MiB, working tree included. tools/peers/run_gdn_peers.py uses
# FlashInfer wherever `import flashinfer` works.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.deps/wheels
wheels=(fla-core==0.6.0 flash-linear-attention==0.6.0)
mkdir -p "$dest"
# pip installs refuse two versions of one package: drop any other version first.
rm -f "$dest"/fla_core-*.whl "$dest"/flash_linear_attention-*.whl
# The device's python3 is 3.12 on x86_64 (KINDS.md); these wheels are py3-none-any either way.
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$dest" "${wheels[@]}"
ls -l "$dest"
du -sh "$dest"
