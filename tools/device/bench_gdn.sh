#!/usr/bin/env bash
# On the GPU machine, one command ranks kforge's GDN solutions beside the peers on the same
# workloads and the same input seeds:
#   1. the peers (tools/peers/run_gdn_peers.py): the definitions' PyTorch reference, FLA 0.6.0
#      fused_recurrent and chunk (wheels carried in .deps/wheels by tools/device/fetch_wheels.sh),
#      FlashInfer where importable; traces under $OUT/peers/traces;
#   2. `kforge bench` on every GDN solution under solutions/ (gdn_decode_hopper, gdn_prefill_hopper;
#      a definition without one is skipped);
#   3. `kforge bench --traces` over both, baseline the PyTorch reference (the contest's speedup):
#      $OUT/gdn-bench.md and $OUT/gdn-bench.json; logs and all traces in $OUT/gdn-logs.tgz.
# Needs a CUDA build of kforge: tools/device/run_device.sh builds build-device (or --build DIR).
#   tools/device/bench_gdn.sh [--quick] [--definition D] [--build DIR] [--seed N] [--peers-args "..."]
#                             [--bench-args "..."]
# --quick: decode batch 1/8/32/64, prefill T=6, T=2107 and two 8192-token workloads (aimed at 3
# minutes, Triton compilation and FLA's autotuning included); --definition: only that one (decode
# or prefill) of the two; default: all 154 GDN workloads
# (estimated above 10 minutes, one device call's limit: the PyTorch reference alone needs about
# 2.5 minutes on the prefill workloads with 3 trials; --peers-args "--trials 1" saves most of it).
# Triton's cache goes to .deps/triton-cache, kept between calls while the machine stays warm, and
# comes back as $OUT/triton-cache.tgz when small enough to carry into a later session.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/kforge-device}
build=${KFORGE_BUILD:-build-device}
which=all
definitions=(gdn_decode_qk4_v8_d128_k_last gdn_prefill_qk4_v8_d128_k_last)
seed=20261122
peers_args=""
bench_args=""
while (($#)); do
  case $1 in
    --quick) which=quick ;;
    --definition)
      [[ " ${definitions[*]} " == *" $2 "* ]] || { echo "bench_gdn: --definition is one of: ${definitions[*]}"; exit 2; }
      definitions=("$2"); shift ;;
    --build) build=$2; shift ;;
    --seed) seed=$2; shift ;;
    --peers-args) peers_args=$2; shift ;;
    --bench-args) bench_args=$2; shift ;;
    *) echo "bench_gdn: unknown argument $1"; exit 2 ;;
  esac
  shift
done
kforge=$build/kforge
if [[ ! -x $kforge ]]; then
  echo "bench_gdn: no $kforge (build it with tools/device/run_device.sh, or pass --build DIR)"
  exit 1
fi
LOG=$OUT/gdn-logs
rm -rf "$LOG" "$OUT/peers" "$OUT"/kforge-gdn_* "$OUT/gdn-rank"
mkdir -p "$LOG"
t0=$SECONDS

if tools/device/install_wheels.sh >"$LOG/install_wheels.log" 2>&1; then
  export PYTHONPATH=$PWD/.deps/pylib${PYTHONPATH:+:$PYTHONPATH}
else
  echo "bench_gdn: wheels not installed, the FLA peers will fail:"
fi
cat "$LOG/install_wheels.log"
export TRITON_CACHE_DIR=${TRITON_CACHE_DIR:-$PWD/.deps/triton-cache}
export PYTHONUNBUFFERED=1

# 1. The peers.
# shellcheck disable=SC2086  # peers_args is a list of flags
def_args=()
((${#definitions[@]} == 1)) && def_args=(-d "${definitions[0]}")
python3 tools/peers/run_gdn_peers.py --kforge "$kforge" "${def_args[@]}" -w "$which" --seed "$seed" -o "$OUT/peers" $peers_args \
  2>&1 | tee "$LOG/peers.log"
echo "== peers done at $((SECONDS - t0)) s"
traces=()
[[ -d $OUT/peers/traces ]] && traces+=("$OUT/peers/traces")

# 2. kforge's solutions, same workloads, same seeds (trial t: seed + t).
for def in "${definitions[@]}"; do
  if ! grep -rqs --include=solution.json "\"definition\": *\"$def\"" solutions; then
    echo "== no solution of $def under solutions/: skipped"
    continue
  fi
  workloads=$(python3 tools/peers/run_gdn_peers.py -d "$def" -w "$which" --print-workloads)
  # shellcheck disable=SC2086  # bench_args is a list of flags
  "$kforge" bench -d "$def" -w "$workloads" --seed "$seed" -o "$OUT/kforge-$def" $bench_args 2>&1 | tee "$LOG/bench-$def.log"
  [[ -d $OUT/kforge-$def/traces ]] && traces+=("$OUT/kforge-$def/traces")
  echo "== kforge bench $def done at $((SECONDS - t0)) s"
done

# 3. Everything ranked together.
status=0
if ((${#traces[@]})); then
  "$kforge" bench --traces "${traces[@]}" --baseline pytorch-reference -o "$OUT/gdn-rank" \
    --markdown "$LOG/leaderboard.md" 2>&1 | tee "$LOG/rank.log"
  status=${PIPESTATUS[0]}
else
  echo "bench_gdn: no traces to rank"
  status=1
fi
if [[ -f $LOG/leaderboard.md ]]; then
  {
    echo "<!-- tools/device/bench_gdn.sh, $(date -u +%FT%TZ), workloads: $which, seed $seed -->"
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /'
    python3 -c 'import torch, triton; print(f"torch {torch.__version__}, triton {triton.__version__}")' 2>/dev/null
    cat "$LOG/leaderboard.md"
  } >"$OUT/gdn-bench.md"
  cp "$OUT/gdn-rank/leaderboard.json" "$OUT/gdn-bench.json"
fi
cp -r "$OUT/peers/traces" "$LOG/peer-traces" 2>/dev/null
for def in "${definitions[@]}"; do
  cp -r "$OUT/kforge-$def/traces" "$LOG/kforge-traces-$def" 2>/dev/null
done
tar czf "$OUT/gdn-logs.tgz" -C "$OUT" gdn-logs && rm -rf "$LOG"
if [[ -d $TRITON_CACHE_DIR ]] && (($(du -sm "$TRITON_CACHE_DIR" | cut -f1) <= 20)); then
  tar czf "$OUT/triton-cache.tgz" -C "$(dirname "$TRITON_CACHE_DIR")" "$(basename "$TRITON_CACHE_DIR")"
fi
echo "== bench_gdn: $((SECONDS - t0)) s$([[ -f $OUT/gdn-bench.md ]] && echo "; $OUT/gdn-bench.md")"
exit "$status"
