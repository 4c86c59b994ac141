#!/usr/bin/env python3
"""Generates tests/golden/*.safetensors: inputs and the outputs of each contest definition's own
PyTorch `reference` code, so the C++ CPU oracles (src/ref/) can be checked against the normative
semantics by tests/unit/golden_test.cpp.

Each case loads a definition JSON, takes its `reference` source, optionally applies textual
substitutions that change only constants (scaled-down shapes), exec()s it, and calls run() on
seeded, valid inputs. Inputs are stored as "in.<name>", outputs as "out.<name>", scalars as rank-0
tensors of their declared dtype. The header's __metadata__ holds the definition name, all axis
values, the substitutions, the torch version, the seed and a note.

Usage: python3 tools/golden/make_goldens.py   (regenerates every file; deterministic)
Only python3 and torch (CPU) are needed: the safetensors file is written by hand below.
"""

import ctypes
import hashlib
import json
import math
import pathlib
import struct
import sys
import warnings

# torch warns at import when numpy is absent; nothing here needs numpy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
# The bundled copies are byte-identical to the contest definitions (data/README.md).
DEFINITIONS = REPO / "data" / "definitions"
OUT_DIR = REPO / "tests" / "golden"

# The DSA attention workloads all use this sm_scale (fib-protocol.md 9.2).
DSA_SM_SCALE = 0.1352337788608801

DEF_GDN_DECODE = "gdn_decode_qk4_v8_d128_k_last"
DEF_GDN_PREFILL = "gdn_prefill_qk4_v8_d128_k_last"
DEF_DSA_ATTN = "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64"
DEF_DSA_INDEXER = "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64"
DEF_MOE = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048"

TORCH_DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float8_e4m3fn": torch.float8_e4m3fn,
    "float8_e5m2": torch.float8_e5m2,
    "int64": torch.int64,
    "int32": torch.int32,
    "int16": torch.int16,
    "int8": torch.int8,
    "bool": torch.bool,
}
SAFETENSORS_CODES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float8_e4m3fn: "F8_E4M3",
    torch.float8_e5m2: "F8_E5M2",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.bool: "BOOL",
}


# ---------------------------------------------------------------------------------------------
# safetensors writer (format: u64 little-endian header length, JSON header, raw row-major data)
# ---------------------------------------------------------------------------------------------

def tensor_bytes(t):
    t = t.contiguous()
    # ctypes.string_at copies the storage in one call; bytes(storage) iterates element-wise.
    return ctypes.string_at(t.data_ptr(), t.numel() * t.element_size())


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in tensors:
        data = tensor_bytes(t)
        header[name] = {
            "dtype": SAFETENSORS_CODES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # the spec allows space padding; keeps data aligned
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
    tmp.replace(path)


# ---------------------------------------------------------------------------------------------
# Input generators (validity rules: shared/notes/synthesis.md, FIB gen_inputs in fib-protocol 3.2)
# ---------------------------------------------------------------------------------------------

def randn(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=torch.float32).to(dtype)


def rand_fp8(*shape):
    # FlashInfer-Bench: randn(fp32).clamp(-2, 2).to(fp8).
    return torch.randn(*shape, dtype=torch.float32).clamp(-2.0, 2.0).to(torch.float8_e4m3fn)


def l2_normalised_bf16(*shape):
    # GDN q and k are L2-normalised per head by the model; raw randn k (|k|^2 ~ head_size)
    # makes the delta rule blow up within a few tokens.
    x = torch.randn(*shape, dtype=torch.float32)
    return (x / x.norm(dim=-1, keepdim=True)).to(torch.bfloat16)


def scalar(value, dtype):
    return torch.tensor(value, dtype=dtype)


def gdn_decode_inputs(ax):
    B, T = ax["batch_size"], ax["seq_len"]
    hq, hk, hv, d = ax["num_q_heads"], ax["num_k_heads"], ax["num_v_heads"], ax["head_size"]
    return {
        "q": l2_normalised_bf16(B, T, hq, d),
        "k": l2_normalised_bf16(B, T, hk, d),
        "v": randn(B, T, hv, d, dtype=torch.bfloat16),
        "state": randn(B, hv, d, d),
        "A_log": randn(hv),
        "a": randn(B, T, hv, dtype=torch.bfloat16),
        "dt_bias": randn(hv),
        "b": randn(B, T, hv, dtype=torch.bfloat16),
        "scale": scalar(1.0 / math.sqrt(d), torch.float32),
    }


def gdn_prefill_inputs(ax, seq_lengths):
    T, N = ax["total_seq_len"], ax["num_seqs"]
    hq, hk, hv, d = ax["num_q_heads"], ax["num_k_heads"], ax["num_v_heads"], ax["head_size"]
    assert len(seq_lengths) == N and sum(seq_lengths) == T
    cu = [0]
    for n in seq_lengths:
        cu.append(cu[-1] + n)
    return {
        "q": l2_normalised_bf16(T, hq, d),
        "k": l2_normalised_bf16(T, hk, d),
        "v": randn(T, hv, d, dtype=torch.bfloat16),
        "state": randn(N, hv, d, d),
        "A_log": randn(hv),
        "a": randn(T, hv, dtype=torch.bfloat16),
        "dt_bias": randn(hv),
        "b": randn(T, hv, dtype=torch.bfloat16),
        "cu_seqlens": torch.tensor(cu, dtype=torch.int64),
        "scale": scalar(1.0 / math.sqrt(d), torch.float32),
    }


def dsa_attention_inputs(ax, valid_per_token):
    N, H = ax["num_tokens"], ax["num_qo_heads"]
    dc, dp = ax["head_dim_ckv"], ax["head_dim_kpe"]
    P, ps, topk = ax["num_pages"], ax["page_size"], ax["topk"]
    assert len(valid_per_token) == N and max(valid_per_token) <= min(topk, P * ps)
    q_nope = randn(N, H, dc, dtype=torch.bfloat16)
    q_pe = randn(N, H, dp, dtype=torch.bfloat16)
    ckv = randn(P, ps, dc, dtype=torch.bfloat16)
    kpe = randn(P, ps, dp, dtype=torch.bfloat16)
    # Each row: distinct flat slots (page * page_size + offset) in random order, then -1 padding.
    idx = torch.full((N, topk), -1, dtype=torch.int32)
    for t, n_valid in enumerate(valid_per_token):
        idx[t, :n_valid] = torch.randperm(P * ps)[:n_valid].to(torch.int32)
    return {
        "q_nope": q_nope,
        "q_pe": q_pe,
        "ckv_cache": ckv,
        "kpe_cache": kpe,
        "sparse_indices": idx,
        "sm_scale": scalar(DSA_SM_SCALE, torch.float32),
    }


def pack_indexer_k_cache(k_bf16):
    """FlashInfer-Bench's deep_gemm cache packing (evaluators/dsa_topk_indexer.py, fib-protocol
    3.2): per-token scale amax/448 (amax clamped >= 1e-4), fp8 = k/scale; per page the
    page_size*head_dim fp8 bytes come first, then page_size float32 scales; viewed as int8
    [pages, page_size, 1, head_dim + 4]."""
    pages, ps, d = k_bf16.shape
    k = k_bf16.to(torch.float32)
    amax = k.abs().amax(dim=-1, keepdim=True).clamp(min=1e-4)  # [pages, ps, 1]
    scale = amax / 448.0
    fp8 = (k / scale).to(torch.float8_e4m3fn)
    fp8_bytes = fp8.view(torch.uint8).reshape(pages, ps * d)
    scale_bytes = scale.reshape(pages, ps).contiguous().view(torch.uint8)  # [pages, ps * 4]
    packed = torch.cat([fp8_bytes, scale_bytes], dim=1)  # [pages, ps * (d + 4)]
    return packed.view(torch.int8).reshape(pages, ps, 1, d + 4)


def dsa_indexer_inputs(ax, seq_lens, tables=None, copies=()):
    """`tables` (optional) fixes each row's pages instead of drawing them; `copies` lists
    (source, destination) pages whose packed bytes are duplicated after packing, so tokens at
    the same offset of such pages score exactly the same (ties)."""
    B, H, d = ax["batch_size"], ax["num_index_heads"], ax["index_head_dim"]
    P, ps, M = ax["num_pages"], ax["page_size"], ax["max_num_pages"]
    assert ax["head_dim_with_scale"] == d + 4 and ax["kv_cache_num_heads"] == 1
    assert len(seq_lens) == B and max(seq_lens) <= M * ps
    q = rand_fp8(B, H, d)
    k_cache = pack_indexer_k_cache(randn(P, ps, d, dtype=torch.bfloat16))
    weights = randn(B, H)
    # Each row: its context's pages, distinct, in random order; entries past the context = -1.
    table = torch.full((B, M), -1, dtype=torch.int32)
    for b, n in enumerate(seq_lens):
        n_pages = (n + ps - 1) // ps
        assert n_pages <= P
        if tables is None:
            table[b, :n_pages] = torch.randperm(P)[:n_pages].to(torch.int32)
        else:
            assert len(tables[b]) == n_pages and len(set(tables[b])) == n_pages
            table[b, :n_pages] = torch.tensor(tables[b], dtype=torch.int32)
    for src, dst in copies:
        k_cache[dst] = k_cache[src]
    return {
        "q_index_fp8": q,
        "k_index_cache_fp8": k_cache,
        "weights": weights,
        "seq_lens": torch.tensor(seq_lens, dtype=torch.int32),
        "block_table": table,
    }


def moe_inputs(ax, local_expert_offset, hit_tokens, miss_tokens):
    """Routing is biased so the case exercises the local experts: tokens in `hit_tokens` get +1.5
    on the local experts' logits (their group is then usually kept and they are usually picked),
    tokens in `miss_tokens` get -8 (sigmoid ~ 3e-4: never among the top 8). Other tokens keep
    plain randn logits."""
    T, E, E_local = ax["seq_len"], ax["num_experts"], ax["num_local_experts"]
    Hs, I2 = ax["hidden_size"], ax["gemm1_out_size"]
    nhb, nib, ngb = ax["num_hidden_blocks"], ax["num_intermediate_blocks"], ax["num_gemm1_out_blocks"]
    logits = randn(T, E)
    local = slice(local_expert_offset, local_expert_offset + E_local)
    for t in hit_tokens:
        logits[t, local] += 1.5
    for t in miss_tokens:
        logits[t, local] -= 8.0
    return {
        "routing_logits": logits,
        "routing_bias": (0.1 * torch.randn(E)).to(torch.bfloat16),
        "hidden_states": rand_fp8(T, Hs),
        "hidden_states_scale": randn(nhb, T),
        "gemm1_weights": rand_fp8(E_local, I2, Hs),
        "gemm1_weights_scale": randn(E_local, ngb, nhb),
        "gemm2_weights": rand_fp8(E_local, Hs, ax["intermediate_size"]),
        "gemm2_weights_scale": randn(E_local, nhb, nib),
        "local_expert_offset": scalar(local_expert_offset, torch.int32),
        "routed_scaling_factor": scalar(2.5, torch.float32),
    }


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------

def gdn_axes(hq, hk, hv, d, **var):
    return dict(var, num_q_heads=hq, num_k_heads=hk, num_v_heads=hv, head_size=d)


def gdn_head_subs(hq, hk, hv):
    return [
        ("assert num_q_heads == 4", f"assert num_q_heads == {hq}"),
        ("assert num_k_heads == 4", f"assert num_k_heads == {hk}"),
        ("assert num_v_heads == 8", f"assert num_v_heads == {hv}"),
    ]


def moe_axes(T, E, E_local, H, I):
    assert H % 128 == 0 and I % 128 == 0
    return dict(seq_len=T, num_experts=E, num_local_experts=E_local, hidden_size=H,
                intermediate_size=I, gemm1_out_size=2 * I, num_hidden_blocks=H // 128,
                num_intermediate_blocks=I // 128, num_gemm1_out_blocks=2 * I // 128)


def moe_subs(E, E_local, H, I):
    # The reference hard-codes the DeepSeek-V3 geometry; only these constants change. N_GROUP=8,
    # TOPK_GROUP=4, TOP_K=8 and BLOCK=128 stay, so the group size becomes E/8.
    return [
        ("H = 7168", f"H = {H}"),
        ("I = 2048", f"I = {I}"),
        ("assert H == 7168,", f"assert H == {H},"),
        ("assert I == 2048,", f"assert I == {I},"),
        ("assert E_global == 256,", f"assert E_global == {E},"),
        ("assert E_local == 32,", f"assert E_local == {E_local},"),
    ]


def build_cases():
    """Each case: name, definition, axes (all of them), substitutions, input builder, check,
    note. Input builders run right after torch.manual_seed(seed)."""
    cases = []

    def add(name, definition, seed, axes, subs, make_inputs, note, check=None):
        cases.append(dict(name=name, definition=definition, seed=seed, axes=axes, subs=subs,
                          make_inputs=make_inputs, note=note, check=check))

    # --- GDN decode ------------------------------------------------------------------------------
    ax = gdn_axes(4, 4, 8, 128, batch_size=2, seq_len=1)
    add("gdn_decode_b2", DEF_GDN_DECODE, 101, ax, [],
        lambda ax=ax: gdn_decode_inputs(ax),
        "full contest size, batch 2")

    ax = gdn_axes(2, 2, 8, 16, batch_size=5, seq_len=1)
    add("gdn_decode_b5_scaled", DEF_GDN_DECODE, 102, ax,
        gdn_head_subs(2, 2, 8) + [("assert K == 128 and V == 128", "assert K == 16 and V == 16")],
        lambda ax=ax: gdn_decode_inputs(ax),
        "scaled: 2 q/k heads, 8 v heads (GVA ratio 4), head_size 16, batch 5")

    # --- GDN prefill -----------------------------------------------------------------------------
    lens = [1, 97, 40, 150, 12]
    ax = gdn_axes(4, 4, 8, 32, total_seq_len=sum(lens), num_seqs=len(lens),
                  len_cu_seqlens=len(lens) + 1)
    add("gdn_prefill_t300_scaled", DEF_GDN_PREFILL, 201, ax,
        [("assert head_size == 128", "assert head_size == 32")],
        lambda ax=ax, lens=lens: gdn_prefill_inputs(ax, lens),
        f"scaled: contest heads 4/4/8, head_size 32; sequence lengths {lens}")

    lens = [1, 0, 30, 17]
    ax = gdn_axes(2, 2, 4, 16, total_seq_len=sum(lens), num_seqs=len(lens),
                  len_cu_seqlens=len(lens) + 1)
    add("gdn_prefill_t48_empty_seq_scaled", DEF_GDN_PREFILL, 202, ax,
        gdn_head_subs(2, 2, 4) + [("assert head_size == 128", "assert head_size == 16")],
        lambda ax=ax, lens=lens: gdn_prefill_inputs(ax, lens),
        f"scaled: heads 2/2/4, head_size 16; sequence lengths {lens}: the empty sequence is "
        "skipped by the reference, so its new_state is zeros (not its input state)")

    # --- DSA sparse attention --------------------------------------------------------------------
    def dsa_attn_axes(N, P, topk):
        return dict(num_tokens=N, num_qo_heads=16, head_dim_ckv=512, head_dim_kpe=64,
                    page_size=64, topk=topk, num_pages=P)

    valid = [256, 100, 0, 1, 256]
    ax = dsa_attn_axes(len(valid), 6, 256)
    add("dsa_attention_topk256_scaled", DEF_DSA_ATTN, 301, ax,
        [("assert topk == 2048", "assert topk == 256")],
        lambda ax=ax, valid=valid: dsa_attention_inputs(ax, valid),
        f"scaled topk 256, contest head dims and page size, 6 pages; valid slots per token {valid} "
        "(token 2 is all -1 padding: lse -inf, output 0)")

    valid = [2048, 0, 700]
    ax = dsa_attn_axes(len(valid), 33, 2048)
    add("dsa_attention_topk2048", DEF_DSA_ATTN, 302, ax, [],
        lambda ax=ax, valid=valid: dsa_attention_inputs(ax, valid),
        f"full contest size, 33 pages; valid slots per token {valid}")

    # --- DSA top-k indexer -----------------------------------------------------------------------
    seq_lens = [0, 1, 100, 2048, 2500, 3100]
    ax = dict(batch_size=len(seq_lens), num_index_heads=64, index_head_dim=128, page_size=64,
              topk=2048, max_num_pages=49, num_pages=50, kv_cache_num_heads=1,
              head_dim_with_scale=132)
    add("dsa_indexer_b6", DEF_DSA_INDEXER, 401, ax, [],
        lambda ax=ax, s=seq_lens: dsa_indexer_inputs(ax, s),
        f"full contest heads/dims/topk, 50 pages; seq_lens {seq_lens}")

    seq_lens = [70, 0, 64, 5, 200]
    ax = dict(batch_size=len(seq_lens), num_index_heads=8, index_head_dim=32, page_size=16,
              topk=64, max_num_pages=13, num_pages=20, kv_cache_num_heads=1,
              head_dim_with_scale=36)
    add("dsa_indexer_b5_scaled", DEF_DSA_INDEXER, 402, ax,
        [("topk = 2048", "topk = 64"),
         ("assert num_index_heads == 64", "assert num_index_heads == 8"),
         ("assert index_head_dim == 128", "assert index_head_dim == 32"),
         ("assert page_size == 64", "assert page_size == 16")],
        lambda ax=ax, s=seq_lens: dsa_indexer_inputs(ax, s),
        f"scaled: 8 heads, head_dim 32, page_size 16, topk 64, 20 pages; seq_lens {seq_lens}")

    # Pages 0, 1 and 2 hold the same keys, so each token of page 0 has two exact twins. Row 0
    # reads pages [0, 1, 2] with topk 16 = 3 * 5 + 1: the boundary splits a triple of equal
    # scores, and which twin the reference keeps is torch.topk's choice.
    seq_lens = [48, 40, 10, 33]
    tables = [[0, 1, 2], [2, 5, 0], [3], [4, 1, 6]]
    ax = dict(batch_size=len(seq_lens), num_index_heads=8, index_head_dim=32, page_size=16,
              topk=16, max_num_pages=3, num_pages=8, kv_cache_num_heads=1,
              head_dim_with_scale=36)
    add("dsa_indexer_ties_scaled", DEF_DSA_INDEXER, 403, ax,
        [("topk = 2048", "topk = 16"),
         ("assert num_index_heads == 64", "assert num_index_heads == 8"),
         ("assert index_head_dim == 128", "assert index_head_dim == 32"),
         ("assert page_size == 64", "assert page_size == 16")],
        lambda ax=ax, s=seq_lens, t=tables: dsa_indexer_inputs(ax, s, t, copies=[(0, 1), (0, 2)]),
        f"scaled: 8 heads, head_dim 32, page_size 16, topk 16, 8 pages; pages 1 and 2 are copies "
        f"of page 0 (exact score ties at the top-k boundary); seq_lens {seq_lens}, "
        f"block tables {tables}")

    # --- MoE -------------------------------------------------------------------------------------
    def moe_check(miss):
        def check(inputs, outputs):
            out = outputs["output"].to(torch.float32)
            zero_rows = [t for t in range(out.shape[0]) if bool((out[t] == 0).all())]
            assert all(t in zero_rows for t in miss), (miss, zero_rows)
            # Most tokens must reach a local expert, or the case tests little.
            assert len(zero_rows) <= out.shape[0] // 4, zero_rows
            return f"tokens with no local expert: {zero_rows}"
        return check

    T, miss = 24, [5]
    ax = moe_axes(T, 64, 8, 256, 128)
    add("moe_t24_e64_scaled", DEF_MOE, 501, ax, moe_subs(64, 8, 256, 128),
        lambda ax=ax, miss=miss: moe_inputs(
            ax, 16, hit_tokens=[t for t in range(ax["seq_len"]) if t not in miss], miss_tokens=miss),
        "scaled: 64 experts (8 groups of 8), 8 local experts at offset 16 (= group 2), hidden "
        "256, intermediate 128, block 128; logits biased towards the local group, token 5 biased "
        "away from it (routes to no local expert: zero row)",
        check=moe_check(miss))

    T, miss = 7, [3]
    ax = moe_axes(T, 32, 4, 384, 128)
    add("moe_t7_e32_straddle_scaled", DEF_MOE, 502, ax, moe_subs(32, 4, 384, 128),
        lambda ax=ax, miss=miss: moe_inputs(ax, 10, hit_tokens=[0, 1, 2, 4, 5, 6], miss_tokens=miss),
        "scaled: 32 experts (8 groups of 4), 4 local experts at offset 10 (straddles groups 2 "
        "and 3), hidden 384 (3 blocks), intermediate 128; token 3 routes to no local expert",
        check=moe_check(miss))

    return cases


# ---------------------------------------------------------------------------------------------
# Running a case
# ---------------------------------------------------------------------------------------------

def resolve_shape(spec, axes):
    return [] if spec["shape"] is None else [axes[a] for a in spec["shape"]]


def apply_substitutions(source, subs):
    for old, new in subs:
        n = source.count(old)
        if n != 1:
            raise SystemExit(f"substitution {old!r} matches {n} times (want exactly 1)")
        source = source.replace(old, new)
    return source


def run_case(case):
    definition = json.loads(next(DEFINITIONS.glob(f"*/{case['definition']}.json")).read_text())
    assert definition["name"] == case["definition"]
    axes = case["axes"]
    if set(axes) != set(definition["axes"]):
        raise SystemExit(f"{case['name']}: axes {sorted(axes)} != {sorted(definition['axes'])}")
    if not case["subs"]:  # full size: every const axis must keep its contest value
        for name, spec in definition["axes"].items():
            if spec["type"] == "const":
                assert axes[name] == spec["value"], (case["name"], name)

    torch.manual_seed(case["seed"])
    inputs = case["make_inputs"]()
    if list(inputs) != list(definition["inputs"]):
        raise SystemExit(f"{case['name']}: inputs {list(inputs)} != {list(definition['inputs'])}")
    for name, spec in definition["inputs"].items():
        t = inputs[name]
        assert t.dtype == TORCH_DTYPES[spec["dtype"]], (case["name"], name, t.dtype)
        assert list(t.shape) == resolve_shape(spec, axes), (case["name"], name, list(t.shape))

    source = apply_substitutions(definition["reference"], case["subs"])
    namespace = {}
    exec(compile(source, f"<reference of {case['name']}>", "exec"), namespace)
    # Scalars are passed as Python values, as FlashInfer-Bench does; clones keep the stored
    # inputs safe from a reference that writes into its arguments.
    args = [t.item() if t.dim() == 0 else t.clone() for t in inputs.values()]
    result = namespace["run"](*args)
    if isinstance(result, torch.Tensor):
        result = (result,)
    out_specs = definition["outputs"]
    assert len(result) == len(out_specs), (case["name"], len(result))
    outputs = {}
    for (name, spec), t in zip(out_specs.items(), result):
        assert t.dtype == TORCH_DTYPES[spec["dtype"]], (case["name"], name, t.dtype)
        assert list(t.shape) == resolve_shape(spec, axes), (case["name"], name, list(t.shape))
        if t.is_floating_point():
            # -inf is legitimate (DSA lse of an all-padding row); NaN or +inf means bad inputs.
            assert not torch.isnan(t).any() and not torch.isposinf(t).any(), (case["name"], name)
        outputs[name] = t.contiguous()

    check_note = case["check"](inputs, outputs) if case["check"] else ""
    note = case["note"] + (f"; {check_note}" if check_note else "")
    metadata = {
        "definition": case["definition"],
        "axes": json.dumps(axes, separators=(",", ":")),
        "substitutions": json.dumps([{"from": o, "to": n} for o, n in case["subs"]]),
        "reference_sha256": hashlib.sha256(definition["reference"].encode()).hexdigest(),
        "torch": torch.__version__,
        "seed": str(case["seed"]),
        "note": note,
    }
    tensors = [(f"in.{k}", v) for k, v in inputs.items()] + [(f"out.{k}", v) for k, v in outputs.items()]
    path = OUT_DIR / f"{case['name']}.safetensors"
    write_safetensors(path, tensors, metadata)
    shapes = ", ".join(f"{k}{list(v.shape)}" for k, v in tensors)
    return path, note, shapes


def write_readme(rows):
    lines = [
        "# Golden files: contest reference outputs",
        "",
        "Generated by `python3 tools/golden/make_goldens.py` (see tools/golden/README.md); do not",
        "edit by hand. Each file holds `in.<input>` and `out.<output>` tensors and `__metadata__`",
        "(definition, axes, substitutions, reference_sha256, torch, seed, note).",
        "Checked by `tests/unit/golden_test.cpp` (`--gtest_filter='*Golden*'`).",
        "",
        "| case | definition | size | note |",
        "|---|---|---|---|",
    ]
    for name, definition, size, note in rows:
        lines.append(f"| `{name}` | `{definition}` | {size / 1024:.0f} KiB | {note} |")
    total = sum(r[2] for r in rows)
    lines += ["", f"Total: {total / 1024 / 1024:.2f} MiB.", ""]
    (OUT_DIR / "README.md").write_text("\n".join(lines))


def main():
    # One thread: torch's CPU GEMM blocking can depend on the thread count, and the files must be
    # byte-identical on every run of the same torch build.
    torch.set_num_threads(1)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    cases = build_cases()
    names = {c["name"] for c in cases}
    for stale in sorted(OUT_DIR.glob("*.safetensors")):
        if stale.stem not in names:
            print(f"removing stale {stale.relative_to(REPO)}")
            stale.unlink()
    rows = []
    for case in cases:
        path, note, shapes = run_case(case)
        size = path.stat().st_size
        rows.append((case["name"], case["definition"], size, note))
        print(f"{case['name']}: {size / 1024:.0f} KiB  {shapes}", flush=True)
    write_readme(rows)
    print(f"total {sum(r[2] for r in rows) / 1024 / 1024:.2f} MiB in {OUT_DIR.relative_to(REPO)}")


if __name__ == "__main__":
    sys.exit(main())
