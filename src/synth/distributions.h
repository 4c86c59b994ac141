// @brief FlashInfer-Bench's default input distributions, reproduced on a counter-based stream.
#pragma once

#include "core/rng.h"
#include "core/tensor.h"

namespace kforge {

// As FlashInfer-Bench's gen_inputs: floats N(0,1); fp8 N(0,1) clamped to [-2, 2] then cast;
// bool {0,1}; int8 U[-128,128); int16/32/64 U[-1024,1024).
void fill_fib_random(Tensor& t, const CounterRng& rng);
std::string fib_random_description(DType dtype);

// value = mean + stddev * N(0,1), cast with torch's rounding to t's float dtype.
void fill_normal(Tensor& t, const CounterRng& rng, double mean = 0.0, double stddev = 1.0);

}  // namespace kforge
