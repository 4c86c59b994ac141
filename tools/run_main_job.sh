#!/usr/bin/env bash
# The main job on the bundled dataset: install dependencies, build, then validate every
# definition and workload, list them, and run the CPU reference oracle and the roofline on one
# workload of each operator. Works without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
tools/build.sh
kf=${KFORGE_BUILD:-build}/kforge
out=${KFORGE_OUT:-runs/main}
mkdir -p "$out"
$kf validate data
$kf list
declare -A workload=(
  [gdn_decode_qk4_v8_d128_k_last]=0
  [gdn_prefill_qk4_v8_d128_k_last]=0
  [dsa_topk_indexer_fp8_h64_d128_topk2048_ps64]=0
  [dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64]=0
  [moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048]=e05c6c03
)
for def in "${!workload[@]}"; do
  $kf reference -d "$def" -w "${workload[$def]}" -o "$out/$def.reference.safetensors"
done
$kf roofline --json > "$out/roofline.json"
$kf roofline -d gdn_decode_qk4_v8_d128_k_last
echo "main job done: outputs under $out/"
