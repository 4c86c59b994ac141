"""The GDN peers, each called with the definition's inputs in definition order (q, k, v, state,
A_log, a, dt_bias, b, [cu_seqlens,] scale) and returning (output, new_state) as the definition
lays them out. Everything a peer needs beyond the raw inputs (gates, layout changes, copies) happens
inside the call, so it is timed, as it would be in a FlashInfer-Bench solution.

Mapping to FLA 0.6.0 (read from the fla-core wheel's fla/ops/gated_delta_rule/):
  - gating: g = a (raw) with use_gate_in_kernel=True, A_log, dt_bias: the kernels compute
    -exp(A_log) * softplus(a + dt_bias) in log space, the definition's exp(.) applied to the state;
    beta = b (raw) with use_beta_sigmoid_in_kernel=True.
  - GVA: native (HV % H == 0; value head h reads q/k head h // (HV/H), the reference's
    repeat_interleave). If a call with 4 q/k heads raises, q and k are repeated to 8 heads inside the
    call instead, and the trace says so.
  - state: the definition's k-last [N, HV, V, K] is FLA's state_v_first=True layout. If FLA rejects
    state_v_first, the state is transposed to [N, HV, K, V] and back inside the call.
  - scale: the input, or 1/sqrt(K) when it is 0 (the reference's rule).
  - prefill: [T, H, K] tensors become [1, T, H, K] views and cu_seqlens (int64, on the GPU) is passed;
    decode: [B, 1, H, K] is FLA's [B, T=1, H, K] with N = B.
FlashInfer (flashinfer.gdn_decode.gated_delta_rule_decode_pretranspose, flashinfer.gdn_prefill.
chunk_gated_delta_rule, API as in flashinfer-python 0.7.2): used only when `import flashinfer`
works; its Hopper GDN kernels are CuTe-DSL and need nvidia-cutlass-dsl.
"""
import math
import sys
import traceback
from importlib.metadata import PackageNotFoundError, version as dist_version

import torch
import torch.nn.functional as F

DECODE = "decode"
PREFILL = "prefill"


def stage_of(definition):
    return DECODE if definition["name"].startswith("gdn_decode") else PREFILL


def effective_scale(scale, head_size):
    return scale if scale else 1.0 / math.sqrt(head_size)


class Peer:
    """A named way to compute the operator. `make(definition)` returns the callable, or raises when
    the package is missing (the error becomes the traces' RUNTIME_ERROR log)."""

    def __init__(self, key, solution, author, function, stages, make, available=True):
        self.key, self.solution, self.author, self.function = key, solution, author, function
        self.stages, self.make, self.available = stages, make, available
        self.notes = {}  # what the adapter had to do, recorded in the traces
        # Set by the runner: the callable, why make() failed, whether it has run once.
        self.fn, self.make_error, self.warm = None, "", False


def reference_peer():
    def make(definition):
        namespace = {}
        exec(compile(definition["reference"], f"<{definition['name']}.reference>", "exec"), namespace)
        return namespace["run"]

    return Peer("pytorch-reference", "pytorch-reference", "flashinfer-bench",
                "the definition's `reference` code (run)", {DECODE, PREFILL}, make)


def _fla_ops(peer):
    """fla.ops.gated_delta_rule. fla/__init__ also imports fla.layers and fla.models when the
    flash-linear-attention wheel is installed (they pull in transformers); the ops (fla-core) need
    neither, so if that import fails they are blocked and the ops imported alone (noted in traces)."""
    try:
        import fla.ops.gated_delta_rule as ops
    except ModuleNotFoundError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of the optional layers/models
        for name in [m for m in sys.modules if m == "fla" or m.startswith("fla.")]:
            del sys.modules[name]
        sys.modules["fla.layers"] = sys.modules["fla.models"] = None  # fla's optional-import guard skips them
        import fla.ops.gated_delta_rule as ops
        peer.notes["import"] = f"fla.layers/fla.models skipped: {type(e).__name__}: {e}"
    return ops


def _fla_call(peer, fn, q, k, v, state, A_log, a, dt_bias, b, scale, cu_seqlens):
    """One FLA call on [B, T, ...] tensors, with the GVA and layout fallbacks described above."""
    kwargs = dict(g=a, beta=b, scale=effective_scale(scale, q.shape[-1]), initial_state=state,
                  output_final_state=True, use_gate_in_kernel=True, A_log=A_log, dt_bias=dt_bias,
                  use_beta_sigmoid_in_kernel=True, cu_seqlens=cu_seqlens)
    if peer.notes.get("gva") == "repeat_interleave":
        rep = v.shape[2] // q.shape[2]
        q, k = q.repeat_interleave(rep, dim=2), k.repeat_interleave(rep, dim=2)
    if peer.notes.get("state") == "transposed":
        o, s = fn(q, k, v, **{**kwargs, "initial_state": state.transpose(-1, -2).contiguous()})
        return o, s.transpose(-1, -2).contiguous()
    return fn(q, k, v, state_v_first=True, **kwargs)


def _with_fallbacks(peer, call):
    """Runs call(); on a failure of the first call, retries with repeated heads, then also with a
    transposed state, keeping the first combination that works."""
    def guarded(*args):
        if "settled" in peer.notes:
            return call(*args)
        errors, first_failure = [], ""
        for form in ({}, {"gva": "repeat_interleave"}, {"gva": "repeat_interleave", "state": "transposed"}):
            for key in ("gva", "state"):
                peer.notes.pop(key, None)
            peer.notes.update(form)
            try:
                out = call(*args)
                torch.cuda.synchronize()
                peer.notes["settled"] = True
                return out
            except Exception as e:  # noqa: BLE001 - any failure of the FLA call tries the next form
                errors.append(f"{form or 'native GVA, state_v_first'}: {type(e).__name__}: {e}")
                first_failure = first_failure or traceback.format_exc()
        raise RuntimeError("every FLA call form failed: " + " | ".join(errors) + "\nfirst failure:\n" + first_failure)

    return guarded


def fla_peer(kind):
    """kind: 'fused_recurrent' or 'chunk'."""
    def make(definition):
        ops = _fla_ops(peer)
        fn = ops.fused_recurrent_gated_delta_rule if kind == "fused_recurrent" else ops.chunk_gated_delta_rule
        if stage_of(definition) == DECODE:
            def call(q, k, v, state, A_log, a, dt_bias, b, scale):
                return _fla_call(peer, fn, q, k, v, state, A_log, a, dt_bias, b, scale, None)
        else:
            def call(q, k, v, state, A_log, a, dt_bias, b, cu_seqlens, scale):
                o, s = _fla_call(peer, fn, q[None], k[None], v[None], state, A_log, a[None], dt_bias, b[None],
                                 scale, cu_seqlens)
                return o[0], s
        return _with_fallbacks(peer, call)

    try:
        version = dist_version("fla-core")
    except PackageNotFoundError:  # reported when the peer is made
        version = "absent"
    stages = {DECODE, PREFILL} if kind == "fused_recurrent" else {PREFILL}
    peer = Peer(f"fla-{kind}", f"fla-{version}-{kind}", "fla-org",
                f"fla.ops.gated_delta_rule.{kind}_gated_delta_rule", stages, make)
    return peer  # make() closes over it: the adapter records its fallbacks in peer.notes


def flashinfer_peer():
    def make(definition):
        if stage_of(definition) == DECODE:
            from flashinfer.gdn_decode import gated_delta_rule_decode_pretranspose

            def call(q, k, v, state, A_log, a, dt_bias, b, scale):
                new_state = state.clone()  # the kernel updates the state in place
                out, _ = gated_delta_rule_decode_pretranspose(q, k, v, new_state, A_log, a, dt_bias, b,
                                                              scale=effective_scale(scale, q.shape[-1]),
                                                              use_qk_l2norm=False)
                return out, new_state
            return call
        from flashinfer.gdn_prefill import chunk_gated_delta_rule

        def call(q, k, v, state, A_log, a, dt_bias, b, cu_seqlens, scale):
            # FlashInfer takes the linear decay alpha and beta as float32 (the contest baseline did this).
            alpha = torch.exp(-torch.exp(A_log.float()) * F.softplus(a.float() + dt_bias.float()))
            beta = torch.sigmoid(b.float())
            new_state = torch.empty_like(state)
            out, new_state = chunk_gated_delta_rule(q, k, v, alpha, beta, scale=effective_scale(scale, q.shape[-1]),
                                                    initial_state=state, output_final_state=True,
                                                    cu_seqlens=cu_seqlens, output_state=new_state)
            return out, new_state
        return call

    try:
        version = dist_version("flashinfer-python")
    except PackageNotFoundError:  # not installed: the caller skips this peer
        version = None
    return Peer("flashinfer", f"flashinfer-{version or 'absent'}-gdn", "flashinfer-ai",
                "flashinfer.gdn_decode.gated_delta_rule_decode_pretranspose / flashinfer.gdn_prefill."
                "chunk_gated_delta_rule", {DECODE, PREFILL}, make, available=version is not None)


def make_peer(key):
    """key: one of run_gdn_peers.PEER_KEYS."""
    if key == "pytorch-reference":
        return reference_peer()
    if key == "flashinfer":
        return flashinfer_peer()
    return fla_peer(key.removeprefix("fla-"))
