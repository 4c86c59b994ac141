#!/usr/bin/env bash
# On the GPU machine: the search loop's tuner on the GDN decode kernel, starting from the
# configuration the kernel shipped with before the staged pipeline existed (direct pipeline,
# ROWS_PER_WARP=2, LOAD_HINT=2) and searching a narrowed space that includes the staged pipeline,
# so that one device call (10 minutes) holds the whole run: the seed's full gate and
# re-verification, successive halving over --tune-count configurations (rungs on the shape groups'
# representatives, then every workload), and the winner's re-verification beside the seed. The
# trajectory goes to docs/benchmarks/search-tune-gdn-decode.md; the store and report come back.
#   tools/device/tune_gdn_decode.sh [--build DIR] [--tune-count N] [--rungs N] [--seed N]
#       [--gpus LIST] [--every K] [--resume RUN]
# --gpus 0,1: one evaluation slot per GPU (a rung's trials spread over them); --every K: tune on
# every K-th decode workload only (a shorter run, e.g. to compare slot counts).
# Output: $OUT/tune.db (the SQLite store), $OUT/tune-report.html, $OUT/tune-best.json (kforge db
# best), $OUT/tune.log, $OUT/tune-slots.txt (tools/device/slot_usage.py: which GPU evaluated
# what, and how much ran at once). --resume continues a killed run from a carried $KFORGE_TUNE_DB.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/kforge-device}
build=${KFORGE_BUILD:-build-device}
count=12
rungs=3
seed=11
gpus=""
every=1
resume=""
while (($#)); do
  case $1 in
    --build) build=$2; shift ;;
    --tune-count) count=$2; shift ;;
    --rungs) rungs=$2; shift ;;
    --seed) seed=$2; shift ;;
    --gpus) gpus=$2; shift ;;
    --every) every=$2; shift ;;
    --resume) resume=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "tune_gdn_decode: unknown argument $1"; exit 2 ;;
  esac
  shift
done
kforge=$build/kforge
[[ -x $kforge ]] || { echo "tune_gdn_decode: no $kforge (build it first, or pass --build DIR)"; exit 1; }
db=${KFORGE_TUNE_DB:-$OUT/tune.db}
mkdir -p "$OUT"

if [[ -z $resume ]]; then
  # The seed: the shipped solution with its earlier defaults, and the narrowed space.
  stage=$(mktemp -d)/gdn_decode_hopper
  cp -r solutions/gdn_decode_hopper "$stage"
  sed -i -e 's/^#define PIPELINE .*/#define PIPELINE 0/' -e 's/^#define ROWS_PER_WARP .*/#define ROWS_PER_WARP 2/' \
    -e 's/^#define LOAD_HINT .*/#define LOAD_HINT 2/' -e 's/^#define BULK_STORE_MIN_BATCH .*/#define BULK_STORE_MIN_BATCH 1073741824/' \
    "$stage/kforge_tune.h"
  python3 - "$stage/solution.json" <<'PY'
import json, sys
path = sys.argv[1]
solution = json.load(open(path))
solution["tunables"]["params"] = {
    "PIPELINE": [0, 1], "ROWS_PER_WARP": [2, 4], "LOAD_HINT": [2, 3],
    "STAGES": [2, 3, 4], "CTAS_PER_SM": [3, 4], "TILE_LOAD_HINT": [0, 1]}
# The staged pipeline's parameters only matter when it runs: one value each otherwise. Its CTAs
# must fit an SM's shared memory together (32-row tiles of 512 bytes per stage, 1 KiB reserved).
solution["tunables"]["constraints"] = [
    "CTAS_PER_SM * (STAGES * 32 * 512 + 1024) <= 233472",
    "PIPELINE == 1 or (STAGES == 3 and CTAS_PER_SM == 4 and TILE_LOAD_HINT == 1)"]
json.dump(solution, open(path, "w"), indent=2)
PY
  data_args=()
  if ((every > 1)); then  # a dataset of every K-th decode workload (same definition)
    data=$(mktemp -d)
    mkdir -p "$data/definitions/gdn" "$data/workloads/gdn"
    cp data/kforge-dataset.json "$data/"
    cp data/definitions/gdn/gdn_decode_qk4_v8_d128_k_last.json "$data/definitions/gdn/"
    awk -v k="$every" '(NR - 1) % k == 0' data/workloads/gdn/gdn_decode_qk4_v8_d128_k_last.jsonl \
      >"$data/workloads/gdn/gdn_decode_qk4_v8_d128_k_last.jsonl"
    data_args=(--data "$data")
  fi
  slot_args=()
  [[ -n $gpus ]] && slot_args=(--gpus "$gpus")
  rm -f "$db" "$db-wal" "$db-shm"
  search=(search -s "$stage" "${data_args[@]}" "${slot_args[@]}" --generator tune --strategy halving
          --tune-count "$count" --eta 4 --rungs "$rungs"
          --max-candidates 20 --trials 1 --warmup 5 --iterations 20 --timing-trials 2 --seed "$seed" --db "$db")
else
  search=(search --resume "$resume" --db "$db")
fi
echo "tune_gdn_decode: $kforge ${search[*]}"
"$kforge" "${search[@]}" 2>&1 | tee "$OUT/tune.log"
status=${PIPESTATUS[0]}
"$kforge" db best --db "$db" --history --json >"$OUT/tune-best.json" 2>&1
"$kforge" report --db "$db" -o "$OUT/tune-report.html" 2>&1 | tail -2
python3 tools/device/slot_usage.py "$db" | tee "$OUT/tune-slots.txt"
exit "$status"
