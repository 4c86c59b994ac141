#!/usr/bin/env python3
"""Exhaustive digests of PyTorch's float32 -> {bfloat16, float16, float8_e4m3fn, float8_e5m2}
casts and of the reverse decodes, for tests/unit/float_types_test.cpp.

Every one of the 2^32 float32 bit patterns is cast on the CPU; the output codes are folded into
a position-weighted checksum  sum_i code_i * w(i)  (mod 2^64) with odd weights, so a single
differing code anywhere changes the digest. NaN inputs count as code 0 for bfloat16 and float16,
whose NaN payloads torch does not fix (they differ between its scalar, vector and CUDA casts).
The C++ test recomputes the digests with kforge's casts.

Usage: python3 tools/casts/make_cast_digests.py > tests/data/cast_digests.json
Needs torch 2.12 (the contest's version): float8_e4m3fn overflow turned from NaN into saturation
in later versions (2.15 saturates), so other versions give other digests.
"""
import json
import sys

import torch

CHUNK = 1 << 26
MASK = (1 << 64) - 1


def weights(start, n):
    # w(i) = ((i * 0x9E3779B97F4A7C15) ^ (i >> 7)) | 1 computed in wrapping int64 arithmetic.
    i = torch.arange(start, start + n, dtype=torch.int64)
    golden = 0x9E3779B97F4A7C15 - (1 << 64)  # as signed int64
    return ((i * golden) ^ (i >> 7)) | 1


def code_of(x, dtype):
    if dtype == torch.float32:
        return x.view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    width = {torch.bfloat16: torch.int16, torch.float16: torch.int16,
             torch.float8_e4m3fn: torch.uint8, torch.float8_e5m2: torch.uint8}[dtype]
    mask = 0xFFFF if width == torch.int16 else 0xFF
    return x.view(width).to(torch.int64) & mask


def encode_digest(dtype):
    total = 0
    for start in range(0, 1 << 32, CHUNK):
        bits = torch.arange(start, start + CHUNK, dtype=torch.int64).to(torch.int32)
        f = bits.view(torch.float32)
        code = code_of(f.to(dtype), dtype)
        if dtype in (torch.bfloat16, torch.float16):
            # torch's NaN payloads for 16-bit formats depend on the cast path: not a contract.
            code = torch.where(torch.isnan(f), torch.zeros_like(code), code)
        total = (total + int((code * weights(start, CHUNK)).sum())) & MASK
        print(f"{dtype} {start >> 26}/64", file=sys.stderr, end="\r")
    return total


def decode_digest(dtype, nbits):
    codes = torch.arange(0, 1 << nbits, dtype=torch.int64)
    storage = codes.to(torch.int16 if nbits == 16 else torch.uint8)
    x = storage.view(dtype).to(torch.float32)
    # NaN payloads are not part of the contract: fold every NaN to one code.
    x = torch.where(torch.isnan(x), torch.full_like(x, float("nan")), x)
    c = code_of(x, torch.float32)
    c = torch.where(torch.isnan(x), torch.full_like(c, 0x7FC00000), c)
    return int((c * weights(0, 1 << nbits)).sum()) & MASK


def main():
    out = {
        "torch": torch.__version__,
        "encode": {name: f"{encode_digest(dt):016x}" for name, dt in [
            ("bfloat16", torch.bfloat16), ("float16", torch.float16),
            ("float8_e4m3fn", torch.float8_e4m3fn), ("float8_e5m2", torch.float8_e5m2)]},
        "decode": {name: f"{decode_digest(dt, n):016x}" for name, dt, n in [
            ("bfloat16", torch.bfloat16, 16), ("float16", torch.float16, 16),
            ("float8_e4m3fn", torch.float8_e4m3fn, 8), ("float8_e5m2", torch.float8_e5m2, 8)]},
    }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
