#!/usr/bin/env python3
"""Runs the GDN peers on the exact inputs kforge uses and writes FlashInfer-Bench traces that
`kforge bench --traces` ranks beside kforge's own solutions.

For each workload and trial t (seed = --seed + t, as `kforge eval/bench --seed` numbers its
trials), `kforge inputs` writes the inputs; the definition's own PyTorch reference (exec'd from the
definition JSON) computes the expected outputs and is timed; each peer is called once and checked
against the reference with FlashInfer-Bench's rule (output and new_state, atol = rtol = 1e-2), then
timed with kforge's protocol (span_timer.py: cold L2, CUPTI span from the first to the last GPU
activity of each call, warm-up, median per trial; latency = mean over trials). A peer that fails a
trial is not timed. Peers (gdn_peers.py): pytorch-reference, fla-fused_recurrent (decode and
prefill), fla-chunk (prefill), flashinfer (only when `import flashinfer` works).

Traces: OUT/traces/<author>/gdn/<definition>.jsonl (FlashInfer-Bench's layout), one line per
(peer, workload), rewritten by each run. Each evaluation carries a "kforge" block: timed_by (this
script), external, the call, seeds, checks, timing (trial medians of span and busy time, kernels of
the first timed call, how GPU activities were attributed to calls). reference_latency_ms is the PyTorch reference's time from the
same run (CUDA events around each call: its thousands of launches per call would make a profiler
trace huge, and the span differs from the event time by microseconds out of milliseconds).

  run_gdn_peers.py --kforge build-device/kforge -w quick --seed 7 -o /tmp/peers
  run_gdn_peers.py -d gdn_decode_qk4_v8_d128_k_last -w quick --print-workloads   # "uuid,uuid,..."
  run_gdn_peers.py -w all --dry-run                                               # the plan, no GPU
Needs (not for --dry-run / --print-workloads): torch with a GPU, safetensors, and for the FLA peers
fla-core (tools/device/install_wheels.sh).
"""
import argparse
import datetime
import json
import math
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import traceback

REPO = pathlib.Path(__file__).resolve().parents[2]
GDN_DEFINITIONS = ["gdn_decode_qk4_v8_d128_k_last", "gdn_prefill_qk4_v8_d128_k_last"]
PEER_KEYS = ["pytorch-reference", "fla-fused_recurrent", "fla-chunk", "flashinfer"]
TIMED_BY = "tools/peers/run_gdn_peers.py"
LOG_LIMIT = 20000


# ---------------------------------------------------------------- dataset

def load_definition(data, name):
    for path in sorted((data / "definitions").rglob("*.json")):
        d = json.loads(path.read_text())
        if d.get("name") == name:
            return d
    raise SystemExit(f"{data}: no definition '{name}' under definitions/")


def load_workloads(data, name):
    """The definition's workload records (dicts with definition, workload, ...) in dataset order."""
    out = []
    for path in sorted((data / "workloads").rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                if record.get("definition") == name:
                    out.append(record)
    if not out:
        raise SystemExit(f"{data}: definition '{name}' has no workloads")
    return out


def quick_subset(name, records):
    """A representative subset: decode batch 1/8/32/64; prefill T=6, T=2107 and the 8192-token
    workloads with the fewest and the most sequences (the shapes of notes/peers-h100.md)."""
    axes = [r["workload"]["axes"] for r in records]
    picked = []
    if name.startswith("gdn_decode"):
        for batch in (1, 8, 32, 64):
            picked += [i for i, a in enumerate(axes) if a["batch_size"] == batch][:1]
    else:
        for tokens in (6, 2107):
            picked += [i for i, a in enumerate(axes) if a["total_seq_len"] == tokens][:1]
        long = [i for i, a in enumerate(axes) if a["total_seq_len"] == 8192]
        if long:
            fewest = min(long, key=lambda i: axes[i]["num_seqs"])
            most = max(long, key=lambda i: axes[i]["num_seqs"])
            picked += [fewest] + ([most] if most != fewest else [])
    return [records[i] for i in picked]


def select_workloads(name, records, which):
    """'all', 'quick', or comma-separated uuids, unique uuid prefixes or indices (as kforge)."""
    if which in ("all", ""):
        return records
    if which == "quick":
        return quick_subset(name, records)
    out = []
    for item in filter(None, which.split(",")):
        if item.isdigit() and len(item) < 6:
            if int(item) >= len(records):
                raise SystemExit(f"workload index {item} out of range (expected 0..{len(records) - 1})")
            out.append(records[int(item)])
            continue
        found = [r for r in records if r["workload"]["uuid"].startswith(item)]
        if len(found) != 1:
            raise SystemExit(f"workload '{item}' of {name}: {'ambiguous' if found else 'not found'} "
                             f"(expected a uuid, a unique uuid prefix or an index)")
        out.append(found[0])
    return out


def axes_text(record):
    return " ".join(f"{k}={v}" for k, v in record["workload"]["axes"].items())


# ---------------------------------------------------------------- traces

def number(v):
    """FlashInfer-Bench's JSON for non-finite errors."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


class TraceWriter:
    def __init__(self, out, definition):
        self.out, self.definition = out, definition
        self.started = set()

    def write(self, peer, record, evaluation):
        # FlashInfer-Bench's layout: traces/<author>/<op_type>/<definition>.jsonl.
        path = self.out / "traces" / peer.author / self.definition["op_type"] / f"{self.definition['name']}.jsonl"
        mode = "a" if path in self.started else "w"  # each run rewrites its files
        self.started.add(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        trace = {"definition": self.definition["name"], "workload": record["workload"], "solution": peer.solution,
                 "evaluation": evaluation}
        with open(path, mode) as f:
            f.write(json.dumps(trace, allow_nan=False) + "\n")


def evaluation(status, env, log, kforge, errors=None, latency_ms=None, reference_ms=None):
    """An Evaluation with FlashInfer-Bench's status rule: correctness for PASSED and
    INCORRECT_NUMERICAL, performance for PASSED only."""
    e = {"status": status, "environment": env, "timestamp": datetime.datetime.now().isoformat(),
         "log": log[-LOG_LIMIT:], "kforge": {"timed_by": TIMED_BY, "external": True, **kforge}}
    if status in ("PASSED", "INCORRECT_NUMERICAL"):
        max_abs, max_rel = errors
        e["correctness"] = {"max_relative_error": number(max_rel), "max_absolute_error": number(max_abs),
                            "extra": None}
    if status == "PASSED":
        e["performance"] = {"latency_ms": latency_ms, "reference_latency_ms": reference_ms,
                            "speedup_factor": reference_ms / latency_ms if latency_ms > 0 else 0.0}
    return e


def environment(torch, device):
    from importlib.metadata import PackageNotFoundError, version

    libs = {"torch": torch.__version__, "cuda": str(torch.version.cuda), "python": platform.python_version()}
    for dist in ("triton", "fla-core", "flash-linear-attention", "flashinfer-python"):
        try:
            libs[dist] = version(dist)
        except PackageNotFoundError:  # absent packages are simply not listed
            pass
    p = torch.cuda.get_device_properties(device)
    return {"hardware": torch.cuda.get_device_name(device), "libs": libs,
            "device": {"sm_count": p.multi_processor_count, "l2_bytes": p.L2_cache_size,
                       "memory_bytes": p.total_memory, "capability": f"{p.major}.{p.minor}"}}


# ---------------------------------------------------------------- running

def make_inputs(args, definition, record, seed, tmp):
    """`kforge inputs` for (workload, seed): the same bytes kforge's evaluator synthesizes."""
    path = pathlib.Path(tmp) / f"{record['workload']['uuid'][:8]}-seed{seed}.safetensors"
    cmd = [str(args.kforge), "inputs", "--data", str(args.data), "-d", definition["name"], "-w",
           record["workload"]["uuid"], "--seed", str(seed), "-o", str(path), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    return path


def call_args(definition, tensors):
    """Inputs in definition order, as FlashInfer-Bench passes them: tensors, scalars as numbers."""
    return [tensors[n].item() if spec["shape"] is None else tensors[n] for n, spec in definition["inputs"].items()]


def run_reference(args, reference, inputs, seeds, flusher, span_timer):
    """The reference on each trial's inputs: expected outputs and its timing (events, cold L2)."""
    if not reference.warm:  # CUDA, cuBLAS and allocator start-up stay out of the first workload's time
        reference.fn(*inputs[seeds[0]])
        reference.warm = True
    expected, medians = {}, []
    for s in seeds:
        times, out = span_timer.time_events(lambda: reference.fn(*inputs[s]), flusher, args.ref_warmup,
                                            args.ref_iterations)
        expected[s] = tuple(out)
        medians.append(statistics.median(times))
    timing = {"method": "events (cold L2)", "trial_medians_us": medians, "warmup": args.ref_warmup,
              "iterations": args.ref_iterations}
    return expected, statistics.fmean(medians) / 1e3, timing


def run_peer(args, peer, inputs, seeds, expected, names, flusher, modules):
    """Checks then times the peer trial by trial. Returns (status, log, kforge extras, errors, latency_ms)."""
    torch, span_timer, output_check = modules
    kf, checks, worst = {"call": peer.function}, [], [0.0, 0.0]

    def record():
        kf.update(checks=checks, adapter={k: v for k, v in peer.notes.items() if k != "settled"})

    if peer.make_error:
        return "RUNTIME_ERROR", peer.make_error, kf, None, None
    try:
        with span_timer.SpanSession() as session:
            for s in seeds:
                out = peer.fn(*inputs[s])
                torch.cuda.synchronize()
                status, max_abs, max_rel, message = output_check.check_outputs(tuple(out), expected[s], names)
                worst = [max(worst[0], max_abs), max(worst[1], max_rel)]
                checks.append({"seed": s, "status": status, "max_abs_error": number(max_abs),
                               "max_rel_error": number(max_rel)})
                record()
                if status != "PASSED":
                    return status, f"seed {s}: {status}: {message}", kf, tuple(worst), None
                session.time(lambda: peer.fn(*inputs[s]), flusher, args.warmup, args.iterations)
        trials = session.results()
    except Exception as e:  # noqa: BLE001 - a failing peer is a RUNTIME_ERROR trace, the run goes on
        record()
        return "RUNTIME_ERROR", f"{type(e).__name__}: {e}\n{traceback.format_exc()}", kf, None, None
    medians = [statistics.median(t["spans_us"]) for t in trials]
    busy = [statistics.median(t["busy_us"]) for t in trials]
    kf["timing"] = {
        "method": "cupti span (torch.profiler / Kineto), cold L2", "attribution": trials[0]["attribution"],
        "trial_medians_us": medians, "mean_us": statistics.fmean(medians), "busy_trial_medians_us": busy,
        "busy_us": statistics.fmean(busy), "spread_us": max(medians) - min(medians), "warmup": args.warmup,
        "iterations": args.iterations, "cold_cache": True, "flush_bytes": flusher.bytes,
        "kernels": trials[0]["kernels"], "activities_per_call": trials[0]["activities_per_call"],
        "kernel_names_consistent": all(t["kernel_names_consistent"] for t in trials),
        "reference_latency_is": "torch (events, this run)"}
    return "PASSED", "", kf, tuple(worst), statistics.fmean(medians) / 1e3


def run_workload(args, definition, record, peers, env, writer, flusher, modules):
    torch, span_timer, output_check = modules
    from safetensors.torch import load_file

    seeds = [args.seed + t for t in range(args.trials)]
    base = {"seeds": {"trials": seeds}, "tolerance": {"atol": output_check.ATOL, "rtol": output_check.RTOL,
                                                      "required_matched_ratio": 1.0}}
    with tempfile.TemporaryDirectory(prefix="kforge-peers-") as tmp:
        inputs = {s: call_args(definition, load_file(str(make_inputs(args, definition, record, s, tmp)),
                                                     device=args.device)) for s in seeds}
    reference = peers[0]
    expected, ref_ms, ref_timing = run_reference(args, reference, inputs, seeds, flusher, span_timer)
    print(f"  {reference.solution:<30} {ref_ms * 1e3:12.2f} us (events)", flush=True)
    if "pytorch-reference" in args.peers:
        writer.write(reference, record, evaluation(
            "PASSED", env, "", {**base, "call": reference.function, "timing": ref_timing}, (0.0, 0.0), ref_ms, ref_ms))
    for peer in peers[1:]:
        status, log, kf, errors, latency_ms = run_peer(args, peer, inputs, seeds, expected, list(definition["outputs"]),
                                                       flusher, modules)
        kf.update(base, reference_timing=ref_timing)
        writer.write(peer, record, evaluation(status, env, log, kf, errors, latency_ms, ref_ms))
        if status == "PASSED":
            t = kf["timing"]
            print(f"  {peer.solution:<30} {latency_ms * 1e3:12.2f} us span {t['busy_us']:10.2f} us busy  "
                  f"x{ref_ms / latency_ms:.1f}  max_abs {errors[0]:.1e}", flush=True)
        else:
            print(f"  {peer.solution:<30} {status}: {log.splitlines()[0][:200] if log else ''}", flush=True)


def prepare_peers(args, definition):
    """The selected peers that apply to this definition, each made once (errors kept, not raised)."""
    import gdn_peers

    stage = gdn_peers.stage_of(definition)
    peers = []
    # The reference always runs: it gives the expected outputs and the reference latency.
    for key in ["pytorch-reference"] + [k for k in args.peers if k != "pytorch-reference"]:
        peer = gdn_peers.make_peer(key)
        if stage not in peer.stages:
            continue
        if not peer.available and not args.peers_explicit:
            print(f"{key}: not importable here, skipped (name it in --peers to record RUNTIME_ERROR traces)",
                  flush=True)
            continue
        try:
            peer.fn = peer.make(definition)
        except Exception as e:  # noqa: BLE001 - recorded in every trace of this peer
            peer.make_error = f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
        peers.append(peer)
    return peers


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--kforge", type=pathlib.Path,
                    help="kforge binary for `kforge inputs` (default: build-device/kforge, else build/kforge)")
    ap.add_argument("--data", type=pathlib.Path, default=REPO / "data", help="dataset folder (default: data/)")
    ap.add_argument("-d", "--definition", action="append",
                    help=f"definition (repeatable; default both: {', '.join(GDN_DEFINITIONS)})")
    ap.add_argument("-w", "--workloads", default="all",
                    help="'all' (default), 'quick' (representative subset), or comma-separated uuids, "
                         "unique uuid prefixes or indices")
    ap.add_argument("--peers", help=f"comma-separated subset of {','.join(PEER_KEYS)} (default: all available)")
    ap.add_argument("--seed", type=int, default=1, help="first input seed; trial t uses seed+t (default 1)")
    ap.add_argument("--trials", type=int, default=3, help="trials, each on fresh inputs (default 3)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed calls per trial before timing (default 10)")
    ap.add_argument("--iterations", type=int, default=50, help="timed calls per trial (default 50)")
    ap.add_argument("--ref-warmup", type=int, default=0, help="PyTorch reference: untimed calls per trial (default 0)")
    ap.add_argument("--ref-iterations", type=int, default=1,
                    help="PyTorch reference: timed calls per trial (default 1; its calls take ms to s)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("-o", "--out", type=pathlib.Path, default=pathlib.Path("runs/peers"),
                    help="output folder (traces/ under it; default runs/peers)")
    ap.add_argument("--print-workloads", action="store_true",
                    help="print the selected uuids of the one definition, comma-separated, and exit")
    ap.add_argument("--dry-run", action="store_true", help="print what would run and exit (no torch, no GPU)")
    args = ap.parse_args(argv)
    args.definition = args.definition or list(GDN_DEFINITIONS)
    args.peers_explicit = args.peers is not None
    args.peers = args.peers.split(",") if args.peers else list(PEER_KEYS)
    unknown = [p for p in args.peers if p not in PEER_KEYS]
    if unknown:
        ap.error(f"unknown peers {unknown} (expected some of {','.join(PEER_KEYS)})")
    if args.trials < 1 or args.iterations < 1 or args.ref_iterations < 1 or min(args.warmup, args.ref_warmup) < 0:
        ap.error("trials, iterations and ref-iterations must be >= 1, warm-ups >= 0")
    if args.print_workloads and len(args.definition) != 1:
        ap.error("--print-workloads needs exactly one --definition")
    if args.kforge is None:
        args.kforge = next((p for p in (REPO / "build-device/kforge", REPO / "build/kforge") if p.exists()),
                           REPO / "build-device/kforge")
    return args


def main(argv):
    args = parse_args(argv)
    plan = []
    for name in args.definition:
        definition = load_definition(args.data, name)
        plan.append((definition, select_workloads(name, load_workloads(args.data, name), args.workloads)))
    if args.print_workloads:
        print(",".join(r["workload"]["uuid"] for r in plan[0][1]))
        return 0
    if args.dry_run:
        seeds = [args.seed + t for t in range(args.trials)]
        print(f"peers: {', '.join(args.peers)}; seeds {seeds}; warm-up {args.warmup}, {args.iterations} timed calls "
              f"per trial; reference {args.ref_warmup} + {args.ref_iterations} calls per trial")
        for definition, records in plan:
            print(f"{definition['name']}: {len(records)} workloads -> {args.out}/traces/<author>/"
                  f"{definition['op_type']}/{definition['name']}.jsonl")
            for r in records:
                print(f"  {r['workload']['uuid']}  {axes_text(r)}")
            if records:
                print(f"  inputs: {args.kforge} inputs --data {args.data} -d {definition['name']} -w "
                      f"{records[0]['workload']['uuid']} --seed {seeds[0]} -o <tmp>.safetensors  (and so on)")
        return 0

    if not args.kforge.exists():
        raise SystemExit(f"no kforge binary at {args.kforge} (build it, or pass --kforge)")
    import torch  # the sibling modules below import it too; the script's folder is on sys.path

    import output_check
    import span_timer

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device visible to torch: the peers run on the GPU (use --dry-run here)")
    device = torch.device(args.device)
    if device.index is not None:  # "cuda" alone means the current device
        torch.cuda.set_device(device)
    env = environment(torch, device)
    flusher = span_timer.L2Flusher(device)
    print(f"{env['hardware']}, torch {env['libs']['torch']}, fla-core {env['libs'].get('fla-core', 'absent')}, "
          f"flashinfer-python {env['libs'].get('flashinfer-python', 'absent')}; seeds from {args.seed}", flush=True)
    with torch.no_grad():
        for definition, records in plan:
            peers = prepare_peers(args, definition)
            writer = TraceWriter(args.out, definition)
            for i, record in enumerate(records):
                print(f"[{i + 1}/{len(records)}] {definition['name']} {record['workload']['uuid'][:8]} "
                      f"{axes_text(record)}", flush=True)
                run_workload(args, definition, record, peers, env, writer, flusher, (torch, span_timer, output_check))
                torch.cuda.empty_cache()
    print(f"traces under {args.out / 'traces'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
