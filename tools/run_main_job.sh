#!/usr/bin/env bash
# The main job on the bundled dataset: install dependencies, build, then validate every
# definition and workload, list them, run the CPU reference oracle and the roofline on one
# workload of each operator, evaluate and rank the bundled solutions (on the CPU backend
# without a GPU; the output says which backend ran), and run the search loop's tuner into the
# SQLite store with its report.
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
# Evaluate and rank: every solution under tests/solutions (and solutions/, when present), with
# a short timing schedule so the job stays quick on a laptop.
$kf bench tests/solutions --warmup 2 --iterations 10 -o "$out/bench" --markdown "$out/bench.md"
# The search loop, recorded in the embedded SQLite store ($out/kforge.db): the tuner over a
# tunable CPU solution (staged with the shared implementation header its sources list) on the
# three-workload search fixture, then the store's views and the HTML report.
stage="$out/tunable"
rm -rf "$stage" "$out/kforge.db"* && mkdir -p "$stage"
cp -r tests/solutions_tunable/gdn_decode_tunable_cpp "$stage/"
cp tests/solutions/gdn_decode_cpp/gdn_decode_impl.h "$stage/gdn_decode_tunable_cpp/"
$kf search --data tests/search/fixtures/dataset -s "$stage/gdn_decode_tunable_cpp" --generator tune \
  --strategy halving --eta 3 --rungs 2 --warmup 1 --iterations 3 --seed 1 --db "$out/kforge.db"
$kf db runs --db "$out/kforge.db"
$kf db best --history --db "$out/kforge.db"
$kf report --db "$out/kforge.db" -o "$out/report.html"
echo "main job done: outputs under $out/"
