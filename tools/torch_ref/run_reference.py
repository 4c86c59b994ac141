#!/usr/bin/env python3
"""Runs a FlashInfer-Bench definition's own PyTorch `reference` on inputs kforge wrote, saves its
outputs, and times it under kforge's protocol, so speedups over the PyTorch reference are reported
the way the contest reported them.

Protocol (as kforge's events timer and FlashInfer-Bench): before each call a buffer of 2x the L2
size is zeroed (cold L2) and the device synchronized; CUDA events around the call; warm-up calls
first; the median over timed calls is reported. Inputs are passed like FlashInfer-Bench does:
tensors on the device in definition order, scalars as Python numbers.

Usage (kforge eval --torch-reference calls this):
  run_reference.py --definition DEF.json --inputs IN.safetensors --outputs OUT.safetensors \
                   --timing TIMING.json [--warmup 1] [--iterations 5] [--device cuda]
Needs torch and safetensors (both on the GPU machine).
"""
import argparse
import json
import statistics
import sys

import torch
from safetensors.torch import load_file, save_file


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--definition", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--outputs", required=True)
    ap.add_argument("--timing", required=True)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()

    definition = json.load(open(args.definition))
    namespace = {}
    exec(compile(definition["reference"], f"<{definition['name']}.reference>", "exec"), namespace)
    run = namespace["run"]

    tensors = load_file(args.inputs, device=args.device)
    call_args = []
    for name, spec in definition["inputs"].items():
        t = tensors[name]
        call_args.append(t.item() if spec["shape"] is None else t)

    def call():
        out = run(*call_args)
        return out if isinstance(out, (tuple, list)) else (out,)

    outputs = call()
    names = list(definition["outputs"])
    if len(outputs) != len(names):
        sys.exit(f"reference returned {len(outputs)} outputs, the definition has {len(names)}")
    save_file({n: o.detach().contiguous().cpu() for n, o in zip(names, outputs)}, args.outputs)

    times_us = []
    if args.device.startswith("cuda"):
        l2 = torch.cuda.get_device_properties(torch.device(args.device)).L2_cache_size
        flush = torch.empty(2 * l2, dtype=torch.uint8, device=args.device)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for i in range(args.warmup + args.iterations):
            flush.zero_()
            torch.cuda.synchronize()
            start.record()
            call()
            end.record()
            torch.cuda.synchronize()
            if i >= args.warmup:
                times_us.append(start.elapsed_time(end) * 1e3)
    json.dump({"median_us": statistics.median(times_us) if times_us else 0.0, "per_call_us": times_us,
               "method": "events (torch reference, cold L2)", "torch": torch.__version__}, open(args.timing, "w"))


if __name__ == "__main__":
    main()
