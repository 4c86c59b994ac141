#!/usr/bin/env python3
"""How a search run used its evaluation slots, read from the kforge store (SQLite).

    tools/device/slot_usage.py STORE.db [--run N]

Prints, for the run (default: the newest), which GPU (by the UUID each evaluation row records,
environment.kforge.gpu_uuid; evaluation.kforge.environment.gpu_uuid in the trace) evaluated how many
workloads of how many candidates, and how many candidates were in flight at once on average (at most
the number of slots): each proposal's first pass (registration to its summary: the tuner's first
rung, or an agent step with its cascade) summed, over the span from the first registration to the
last summary. The seed, promotions' re-verifications beyond the first pass and regression checks run
on one slot and are left out.
"""
import argparse
import json
import sqlite3
import sys
from datetime import datetime


def seconds(a: str, b: str) -> float:
    parse = lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (parse(b) - parse(a)).total_seconds()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db")
    ap.add_argument("--run", type=int, help="run id (default: the newest)")
    args = ap.parse_args()
    db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    run = db.execute("SELECT id, created, updated, status, config FROM runs WHERE (:run IS NULL OR id = :run) "
                     "ORDER BY id DESC LIMIT 1", {"run": args.run}).fetchone()
    if run is None:
        print(f"slot_usage: {args.db} has no run{'' if args.run is None else f' {args.run}'}", file=sys.stderr)
        return 1
    run_id, created, updated, status, config = run
    config = json.loads(config)
    slots = config.get("gpus") or [f"job {i}" for i in range(max(1, config.get("jobs", 1)))]
    per_gpu = {}
    for env, cid in db.execute("SELECT e.environment, e.candidate_id FROM evaluations e JOIN candidates c "
                               "ON c.id = e.candidate_id WHERE c.run_id = ?", (run_id,)):
        env = json.loads(env) if env else {}
        key = (env.get("kforge", {}).get("gpu_uuid", "(no GPU recorded)"), env.get("hardware", ""))
        rows, cands = per_gpu.setdefault(key, [0, set()])
        per_gpu[key][0] = rows + 1
        cands.add(cid)
    passes = db.execute("SELECT c.created, s.created FROM candidates c JOIN summaries s ON s.candidate_id = c.id "
                        "WHERE c.run_id = ? AND c.step > 0", (run_id,)).fetchall()
    print(f"run {run_id} ({status}): {len(slots)} slot(s) {', '.join(map(str, slots))}")
    print(f"{'GPU':<42} {'name':<24} {'evaluations':>11} {'candidates':>10}")
    for (uuid, name), (rows, cands) in sorted(per_gpu.items()):
        print(f"{uuid:<42} {name:<24} {rows:>11} {len(cands):>10}")
    print(f"run wall time {seconds(created, updated):.1f} s")
    if passes:
        busy = sum(seconds(a, b) for a, b in passes)
        span = seconds(min(a for a, _ in passes), max(b for _, b in passes))
        print(f"{len(passes)} proposals' first passes: {busy:.1f} s summed over a span of {span:.1f} s; "
              f"in flight at once on average {busy / span if span > 0 else 0:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
