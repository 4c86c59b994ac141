"""FlashInfer-Bench's output rule as kforge applies it (src/harness/compare.cpp) for the GDN
definitions: every output must have the reference's shape and dtype, and every element must match:
an element fails when abs > atol and rel > rtol, with rel = abs / (|ref| + 1e-8); a NaN or inf
matches only the same value in the reference. Defaults atol = rtol = 1e-2 (FlashInfer-Bench's
default evaluator)."""
import torch

ATOL = 1e-2
RTOL = 1e-2
REL_EPS = 1e-8


def check_outputs(got, want, names, atol=ATOL, rtol=RTOL):
    """Compares tuples of output tensors. Returns (status, max_abs, max_rel, message)."""
    if len(got) != len(want):
        return "INCORRECT_SHAPE", 0.0, 0.0, f"{len(got)} outputs, expected {len(want)}"
    max_abs = max_rel = 0.0
    for name, g, w in zip(names, got, want):
        if tuple(g.shape) != tuple(w.shape):
            return "INCORRECT_SHAPE", max_abs, max_rel, f"{name}: shape {list(g.shape)}, expected {list(w.shape)}"
        if g.dtype != w.dtype:
            return "INCORRECT_DTYPE", max_abs, max_rel, f"{name}: dtype {g.dtype}, expected {w.dtype}"
        g64, w64 = g.detach().double(), w.detach().to(g.device).double()
        finite_w = torch.isfinite(w64)
        finite_both = finite_w & torch.isfinite(g64)
        same_special = (torch.isnan(w64) & torch.isnan(g64)) | (torch.isinf(w64) & (g64 == w64))
        non_finite_mismatch = (finite_w & ~finite_both) | (~finite_w & ~same_special)
        diff = torch.where(finite_both, (g64 - w64).abs(), torch.zeros_like(g64))
        rel = diff / (w64.abs().where(finite_both, torch.ones_like(w64)) + REL_EPS)
        bad = (finite_both & (diff > atol) & (rel > rtol)) | non_finite_mismatch
        if diff.numel():
            max_abs = max(max_abs, diff.max().item())
            max_rel = max(max_rel, rel.max().item())
        n_bad = int(bad.sum().item())
        if n_bad:
            first = int(bad.flatten().nonzero()[0].item())
            return ("INCORRECT_NUMERICAL", max_abs, max_rel,
                    f"{name}: {n_bad} of {bad.numel()} elements out of tolerance (atol {atol}, rtol {rtol}); "
                    f"first at flat index {first}: {g64.flatten()[first].item()} vs {w64.flatten()[first].item()}")
    return "PASSED", max_abs, max_rel, ""
