#!/usr/bin/env bash
# On the GPU machine, in one go: build with CUDA (sm_90a), run every test (GPU tests included),
# compute-sanitizer memcheck over the small GPU cases, and `kforge bench` with the GPU references
# as baseline. Logs and results go to $OUT (default /tmp/kforge-device); the last lines printed
# are a summary table.
#   tools/device/run_device.sh [--skip-build] [--no-bench] [--bench-args "..."]
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/kforge-device}
LOG=$OUT/logs  # packed into $OUT/device-logs.tgz at the end (the device tool returns few files)
mkdir -p "$LOG"
build=${KFORGE_BUILD:-build-device}
bench_args=""
skip_build=0
no_bench=0
while (($#)); do
  case $1 in
    --skip-build) skip_build=1 ;;
    --no-bench) no_bench=1 ;;
    --bench-args) bench_args=$2; shift ;;
    *) echo "unknown argument $1"; exit 2 ;;
  esac
  shift
done
summary=()
step() {  # step NAME CMD...: runs, logs to $OUT/NAME.log, records status and seconds
  local name=$1; shift
  local t0=$SECONDS
  "$@" >"$LOG/$name.log" 2>&1
  local rc=$?
  summary+=("$(printf '%-22s %-6s %5ds' "$name" "$([[ $rc == 0 ]] && echo ok || echo FAIL:$rc)" $((SECONDS - t0)))")
  return $rc
}

{ nvidia-smi; nvcc --version; cmake --version; python3 -c 'import torch; print("torch", torch.__version__)'; } >"$LOG/env.log" 2>&1
# torch's fp8 casts are the contract of core/float_types.h: record how this torch rounds.
python3 - >"$LOG/torch_casts.log" 2>&1 <<'PY'
import torch
v = torch.tensor([448., 464., 470., 480., 1e4, float("inf"), float("nan")])
for dev in ["cpu", "cuda"]:
    codes = v.to(dev).to(torch.float8_e4m3fn).view(torch.uint8).cpu().tolist()
    print(dev, "e4m3fn codes for", v.tolist(), "->", [hex(c) for c in codes])
PY
cat "$LOG/torch_casts.log"

# Debian packages the image lacks (tools/device/fetch_debs.sh, carried as .deps): unpacked into a
# project-local prefix that CMake searches; the build tree's RUNPATH finds the libraries there.
prefix_args=()
if compgen -G ".deps/debs/*.deb" >/dev/null; then
  for f in .deps/debs/*.deb; do dpkg -x "$f" .deps/prefix; done
  prefix_args=(-DCMAKE_PREFIX_PATH="$PWD/.deps/prefix/usr")
fi
if ((!skip_build)); then
  step configure cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${prefix_args[@]}" || { printf '%s\n' "${summary[@]}"; exit 1; }
  step build cmake --build "$build" -j "$(nproc)" || { tail -40 "$LOG/build.log"; printf '%s\n' "${summary[@]}"; exit 1; }
fi
step tests ctest --test-dir "$build" --output-on-failure -j 8 --timeout 900
grep -E "tests passed|tests failed|Total Test|\*\*\*Failed|\*\*\*Timeout|\(Failed\)" "$LOG/tests.log" | tail -40
grep -h "^\[gpuref\]\|^\[timer\]\|^\[exploit" "$LOG/tests.log" > "$LOG/gpu_lines.log" 2>/dev/null
# memcheck on the small GPU reference cases (the large ones are too slow under the sanitizer).
step memcheck compute-sanitizer --tool memcheck --error-exitcode 1 "$build/tests/kforge_gpu_tests" \
  --gtest_filter='GpuRef*:-*Full*:*Contest*:*Long*'
grep -E "ERROR SUMMARY" "$LOG/memcheck.log" | tail -1
# and on the kernel library's typed-API cases (the evaluator cases run the kernels in workers).
step memcheck_kernels compute-sanitizer --tool memcheck --error-exitcode 1 "$build/tests/kforge_gpu_tests" \
  --gtest_filter='KernelGdn*:-*Evaluator*'
grep -E "ERROR SUMMARY" "$LOG/memcheck_kernels.log" | tail -1

if ((!no_bench)); then
  # Bench the GPU solutions (GPU references as the baseline and as the correctness reference): those
  # under solutions/ plus the exploit suite's correct GPU control (staged with its shared header, as
  # its tests do). The CPU test solutions are left out: timing them is the CI's job, not the GPU's.
  stage=$(mktemp -d)
  mkdir -p "$stage/control_gpu" && cp tests/exploits/control_gpu/* tests/exploits/common/* "$stage/control_gpu/"
  step bench "$build/kforge" bench solutions "$stage" -o "$LOG/bench" --markdown "$OUT/bench.md" $bench_args
  tail -30 "$LOG/bench.log"
  # The definition's own PyTorch reference on a few workloads: agreement and speedup over it (each
  # call starts Python and imports torch, so not on every workload).
  step torch_ref "$build/kforge" eval -s "$stage/control_gpu" -w 0,20,47 --torch-reference -o "$LOG/torch_ref"
  tail -6 "$LOG/torch_ref.log"
fi
tar czf "$OUT/device-logs.tgz" -C "$OUT" logs && rm -rf "$LOG"
printf '%s\n' "== summary ($(date -u +%FT%TZ))" "${summary[@]}"
