#!/usr/bin/env bash
# On the GPU machine: evaluate a few hand-picked configurations of a tunable solution on a few
# workloads, one `kforge eval` each (full correctness gate, kforge's timing protocol), and print a
# latency table (rows: configurations, columns: workloads). For exploring a kernel's levers before
# handing a space to the tuner (`kforge search --generator tune`), which records everything in its
# store but costs a full-gate evaluation of the seed and of each promotion.
#   tools/device/sweep_tunables.sh -s SOLUTION_DIR -w 0,32,46 [-o OUT] [--kforge BIN]
#       [--eval-args "..."] CONFIG...
# CONFIG: "" (the defaults) or "NAME=VALUE,NAME=VALUE": each NAME must be a #define of the
# solution's tunable header (solution.json "tunables.header").
# Output: OUT/sweep.md (the table) and OUT/sweep.json; each configuration's staged folder, eval
# run folder and log under OUT/cfgN.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
solution=""
workloads=""
out=${OUT:-/tmp/kforge-device}/sweep
kforge=${KFORGE_BUILD:-build-device}/kforge
eval_args="--trials 1 --warmup 5 --iterations 30 --timing-trials 2"
configs=()
while (($#)); do
  case $1 in
    -s) solution=$2; shift ;;
    -w) workloads=$2; shift ;;
    -o) out=$2; shift ;;
    --kforge) kforge=$2; shift ;;
    --eval-args) eval_args=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "sweep_tunables: unknown option $1"; exit 2 ;;
    *) configs+=("$1") ;;
  esac
  shift
done
[[ -n $solution && -n $workloads && ${#configs[@]} -gt 0 ]] || { echo "sweep_tunables: need -s, -w and at least one CONFIG (see --help)"; exit 2; }
[[ -x $kforge ]] || { echo "sweep_tunables: no $kforge (build kforge first, or pass --kforge)"; exit 1; }
header=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tunables"]["header"])' "$solution/solution.json") ||
  { echo "sweep_tunables: $solution/solution.json has no tunables.header"; exit 1; }
mkdir -p "$out"

i=0
for config in "${configs[@]}"; do
  dir=$out/cfg$i
  rm -rf "$dir" && mkdir -p "$dir" && cp -r "$solution" "$dir/solution"
  IFS=',' read -ra assignments <<<"$config"
  for a in "${assignments[@]}"; do
    name=${a%%=*} value=${a#*=}
    grep -q "^#define $name " "$dir/solution/$header" ||
      { echo "sweep_tunables: config '$config': $header has no '#define $name'"; exit 2; }
    sed -i "s/^#define $name .*/#define $name $value/" "$dir/solution/$header"
  done
  echo "$config" >"$dir/config.txt"
  i=$((i + 1))
done
# Every configuration staged (and checked) before the first evaluation.
for ((c = 0; c < i; c++)); do
  dir=$out/cfg$c
  echo "[sweep] cfg$c $(cat "$dir/config.txt")"
  # shellcheck disable=SC2086  # eval_args is a list of flags
  "$kforge" eval -s "$dir/solution" -w "$workloads" -o "$dir/run" --json $eval_args >"$dir/summary.json" 2>"$dir/eval.log"
done

python3 - "$out" "$i" "$workloads" <<'PY'
import json, sys, pathlib
out, n, labels = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
rows = []
for i in range(n):
    d = out / f"cfg{i}"
    config = (d / "config.txt").read_text().strip() or "(defaults)"
    try:
        summary = json.loads((d / "summary.json").read_text())
    except (OSError, ValueError):
        rows.append({"config": config, "error": (d / "eval.log").read_text()[-400:]})
        continue
    rows.append({"config": config, "mean_latency_us": summary["mean_latency_us"],
                 "workloads": [{k: w.get(k) for k in ("workload", "status", "latency_us")} for w in summary["workloads"]]})
(out / "sweep.json").write_text(json.dumps(rows, indent=2) + "\n")
lines = ["| config | " + " | ".join(f"w {l}" for l in labels) + " | mean (us) |",
         "|---|" + "---|" * (len(labels) + 1)]
for r in rows:
    if "error" in r:
        lines.append(f"| `{r['config']}` | error: {r['error'].splitlines()[-1] if r['error'] else '?'} |")
        continue
    cells = [f"{w['latency_us']:.2f}" if w["status"] == "PASSED" else w["status"] for w in r["workloads"]]
    lines.append(f"| `{r['config']}` | " + " | ".join(cells) + f" | {r['mean_latency_us']:.2f} |")
(out / "sweep.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
