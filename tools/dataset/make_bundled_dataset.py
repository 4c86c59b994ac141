#!/usr/bin/env python3
"""Builds data/ (kforge's bundled dataset, FlashInfer-Bench layout) from ../shared/data.

- definitions: copied byte for byte into definitions/<op_type>/<name>.json.
- MoE and DSA workloads: copied byte for byte into workloads/<op_type>/<name>.jsonl.
- GDN decode/prefill workloads: no contest JSONL survives, only (uuid, axes) pairs
  (shared/data/derived/workload_axes). Each becomes a workload-only trace keeping uuid and axes;
  tensor inputs are "random" (kforge's synthesizer applies its structured rules: L2-normalised
  q/k, valid cu_seqlens) and `scale` is the scalar 1/sqrt(128) that the reference defaults to.

Usage: python3 tools/dataset/make_bundled_dataset.py [--shared ../shared] [--out data]
"""
import argparse
import json
import math
import pathlib
import shutil

GDN = ["gdn_decode_qk4_v8_d128_k_last", "gdn_prefill_qk4_v8_d128_k_last"]


def main():
    repo = pathlib.Path(__file__).resolve().parents[2]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=pathlib.Path, default=repo.parent / "shared")
    ap.add_argument("--out", type=pathlib.Path, default=repo / "data")
    args = ap.parse_args()
    src = args.shared / "data"

    for f in sorted((src / "definitions").glob("*.json")):
        op_type = json.loads(f.read_text())["op_type"]
        dst = args.out / "definitions" / op_type / f.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dst)

    for f in sorted((src / "workloads").rglob("*.jsonl")):
        dst = args.out / "workloads" / f.relative_to(src / "workloads")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dst)

    for name in GDN:
        definition = json.loads((src / "definitions" / f"{name}.json").read_text())
        rows = json.loads((src / "derived" / "workload_axes" / f"{name}.axes.json").read_text())["workloads"]
        scale = 1.0 / math.sqrt(definition["axes"]["head_size"]["value"])
        lines = []
        for row in rows:
            inputs = {n: {"type": "random"} for n in definition["inputs"] if n != "scale"}
            inputs["scale"] = {"type": "scalar", "value": scale}
            workload = {"uuid": row["uuid"], "axes": row["axes"], "inputs": inputs}
            lines.append(json.dumps({"definition": name, "solution": None, "workload": workload, "evaluation": None},
                                    separators=(",", ":")))
        dst = args.out / "workloads" / "gdn" / f"{name}.jsonl"
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
