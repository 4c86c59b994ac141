"""kforge's timing protocol (src/gpu/timer.cu) for Python-launched peers.

Per call: flush L2 (zero a buffer of 2x the L2 size), synchronize, then the call; the call's time
is the span from the start of its first GPU activity (kernel, memcpy or memset) to the end of its
last, as CUPTI records them. Warm-up calls first; the median over timed calls is one trial.

CUPTI is reached through torch.profiler (Kineto records CUPTI activities). Timed call i of run r
executes inside record_function("kforge_timed_call_<r>_<i>") together with the synchronize that
follows it; the flush and its synchronize come before the range opens. A GPU activity belongs to
the call when the CUDA runtime or driver call that launched it (same correlation id, same CPU
thread) lies inside its range: so the flush is never counted, and neither is work launched by
other threads. Where no launch record links (an old Kineto without driver-API records, which
Triton launches use), the activities that start inside the range's time window are taken instead
(Kineto puts CPU and GPU timestamps on one clock; the synchronize before the range keeps the flush
out of the window); the result says which attribution was used.

"busy" is the sum of the call's activity durations: the GPU time without the gaps between launches.
kforge and FlashInfer-Bench fail a run whose calls launch different kernel sets; here that is
recorded (kernel_names_consistent) and the times are kept: extra kernels in a call (a late
autotune, say) can only lengthen a peer's time, never shorten it.
"""
import bisect
import json
import os
import tempfile

import torch

MARK = "kforge_timed_call_"
GPU_CATEGORIES = ("kernel", "gpu_memcpy", "gpu_memset")
LAUNCH_CATEGORIES = ("cuda_runtime", "cuda_driver")


class L2Flusher:
    """Zeroes 2x the L2 size before each call, as FlashInfer-Bench and kforge do."""

    def __init__(self, device):
        l2 = torch.cuda.get_device_properties(device).L2_cache_size
        if l2 <= 0:
            raise RuntimeError(f"device {device} reports no L2 cache size")
        self.buffer = torch.empty(2 * l2, dtype=torch.uint8, device=device)

    @property
    def bytes(self):
        return self.buffer.numel()

    def flush_and_sync(self):
        self.buffer.zero_()
        torch.cuda.synchronize()


def time_events(call, flusher, warmup, iterations):
    """Per-call CUDA-event times (us), cold L2. Used for the PyTorch reference, whose thousands of
    tiny launches per call make a profiler trace huge while the span differs from the event time
    by microseconds out of milliseconds."""
    for _ in range(warmup):
        flusher.flush_and_sync()
        call()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times, last = [], None
    for _ in range(iterations):
        flusher.flush_and_sync()
        start.record()
        last = call()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) * 1e3)
    return times, last


class SpanSession:
    """One profiler session for several timed runs (a peer's trials on one workload), so the
    profiler's start-up and the trace export are paid once:
        with SpanSession() as session:
            session.time(call, flusher, warmup, iterations)   # once per trial
        results = session.results()                         # one dict per run, see spans_from_trace
    Work done between runs (correctness checks) is traced but belongs to no timed call."""

    def __enter__(self):
        from torch.profiler import ProfilerActivity, profile

        self._prof = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
        self._prof.__enter__()
        self._iterations = []
        return self

    def __exit__(self, *exc):
        return self._prof.__exit__(*exc)

    def time(self, call, flusher, warmup, iterations):
        from torch.profiler import record_function

        run = len(self._iterations)
        # Inside the profiler, so the warm-up also absorbs CUPTI's first-launch instrumentation.
        for _ in range(warmup):
            flusher.flush_and_sync()
            call()
        torch.cuda.synchronize()
        for i in range(iterations):
            flusher.flush_and_sync()
            with record_function(f"{MARK}{run}_{i}"):
                call()
                torch.cuda.synchronize()
        self._iterations.append(iterations)

    def results(self):
        fd, path = tempfile.mkstemp(suffix=".json", prefix="kforge-peer-trace-")
        os.close(fd)
        try:
            self._prof.export_chrome_trace(path)
            with open(path) as f:
                events = json.load(f)["traceEvents"]
        finally:
            os.unlink(path)
        return spans_from_trace(events, self._iterations)


def spans_from_trace(events, iterations):
    """Splits a Kineto chrome trace into timed calls (see the module doc). iterations[r] is the
    number of calls of run r, marked MARK<r>_<i>. Returns per run: spans_us, busy_us, attribution,
    activities_per_call, kernels (of its first call) and kernel_names_consistent."""
    marks = {}
    launches, gpu = [], []
    for e in events:
        cat = e.get("cat")
        if cat == "user_annotation" and str(e.get("name", "")).startswith(MARK):
            run, i = e["name"][len(MARK):].split("_")
            marks[(int(run), int(i))] = e
        elif cat in LAUNCH_CATEGORIES:
            launches.append(e)
        elif cat in GPU_CATEGORIES:
            gpu.append(e)
    wanted = [(r, i) for r, n in enumerate(iterations) for i in range(n)]
    missing = [k for k in wanted if k not in marks]
    if missing:
        raise RuntimeError(f"profiler trace lacks the ranges of timed calls (run, call) {missing[:5]}")
    launches.sort(key=lambda e: float(e["ts"]))
    launch_ts = [float(e["ts"]) for e in launches]
    by_correlation = {}
    for e in gpu:
        c = e.get("args", {}).get("correlation")
        if c is not None:
            by_correlation.setdefault(c, []).append(e)

    def window(mark):
        return float(mark["ts"]), float(mark["ts"]) + float(mark.get("dur", 0))

    def linked(mark):
        lo, hi = window(mark)
        acts = []
        for j in range(bisect.bisect_left(launch_ts, lo), bisect.bisect_right(launch_ts, hi)):
            launch = launches[j]
            if launch.get("tid") == mark.get("tid") and launch.get("pid") == mark.get("pid"):
                acts += by_correlation.get(launch.get("args", {}).get("correlation"), [])
        return acts

    def windowed(mark):
        lo, hi = window(mark)
        return [e for e in gpu if lo <= float(e["ts"]) <= hi]

    per_call = {k: linked(marks[k]) for k in wanted}
    attribution = "correlation"
    if any(not acts for acts in per_call.values()):
        per_call = {k: windowed(marks[k]) for k in wanted}
        attribution = "time window"
    empty = [k for k, acts in per_call.items() if not acts]
    if empty:
        raise RuntimeError(f"no GPU activity recorded for timed calls (run, call) {empty[:5]}")
    results = []
    for r, n in enumerate(iterations):
        calls = [per_call[(r, i)] for i in range(n)]
        spans = [max(float(e["ts"]) + float(e.get("dur", 0)) for e in acts) - min(float(e["ts"]) for e in acts)
                 for acts in calls]
        names = [sorted(e["name"] for e in acts if e.get("cat") == "kernel") for acts in calls]
        first = sorted(calls[0], key=lambda e: float(e["ts"]))
        results.append({
            "spans_us": spans,
            "busy_us": [sum(float(e.get("dur", 0)) for e in acts) for acts in calls],
            "attribution": attribution,
            "activities_per_call": len(calls[0]),
            "kernels": [e["name"] for e in first if e.get("cat") == "kernel"],
            "kernel_names_consistent": all(n == names[0] for n in names),
        })
    return results
