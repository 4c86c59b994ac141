// @brief DSA sparse MLA attention oracle: softmax over the selected cache slots, base-2 lse.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "ref/oracles.h"

namespace kforge::ref {
namespace {

std::int64_t axis(const Axes& axes, const std::string& name) {
  auto it = axes.find(name);
  if (it == axes.end()) throw Error("dsa_sparse_attention: axis '" + name + "' missing");
  return it->second;
}

const Tensor& input(const TensorMap& inputs, const std::string& name, DType dtype, const Shape& shape) {
  auto it = inputs.find(name);
  if (it == inputs.end()) throw Error("dsa_sparse_attention: input '" + name + "' missing");
  const Tensor& t = it->second;
  if (t.dtype() != dtype || t.shape() != shape) {
    throw Error("dsa_sparse_attention: input '" + name + "' is " + std::string(dtype_name(t.dtype())) + " " +
                    shape_to_string(t.shape()),
                std::string(dtype_name(dtype)) + " " + shape_to_string(shape));
  }
  return t;
}

// bf16 values as double; bf16 * bf16 products are exact in float32 and in double alike.
double dot(std::span<const double> q, const Bf16* k) {
  double sum = 0.0;
  for (std::size_t i = 0; i < q.size(); ++i) sum += q[i] * static_cast<double>(bf16_to_float(k[i]));
  return sum;
}

}  // namespace

TensorMap dsa_sparse_attention(const Axes& axes, const TensorMap& inputs) {
  const std::int64_t num_tokens = axis(axes, "num_tokens");
  const std::int64_t heads = axis(axes, "num_qo_heads");
  const std::int64_t dim_ckv = axis(axes, "head_dim_ckv");
  const std::int64_t dim_kpe = axis(axes, "head_dim_kpe");
  const std::int64_t page_size = axis(axes, "page_size");
  const std::int64_t topk = axis(axes, "topk");
  const std::int64_t num_pages = axis(axes, "num_pages");

  const auto q_nope = input(inputs, "q_nope", DType::kBFloat16, {num_tokens, heads, dim_ckv}).data<Bf16>();
  const auto q_pe = input(inputs, "q_pe", DType::kBFloat16, {num_tokens, heads, dim_kpe}).data<Bf16>();
  const auto ckv = input(inputs, "ckv_cache", DType::kBFloat16, {num_pages, page_size, dim_ckv}).data<Bf16>();
  const auto kpe = input(inputs, "kpe_cache", DType::kBFloat16, {num_pages, page_size, dim_kpe}).data<Bf16>();
  const auto indices =
      input(inputs, "sparse_indices", DType::kInt32, {num_tokens, topk}).data<std::int32_t>();
  const double sm_scale = input(inputs, "sm_scale", DType::kFloat32, {}).get(0);

  // Indices address the flattened caches [num_pages * page_size, dim]; -1 is padding. Checked
  // here because the parallel body must not throw.
  const std::int64_t num_slots = num_pages * page_size;
  std::vector<std::vector<std::int64_t>> slots(static_cast<std::size_t>(num_tokens));
  for (std::int64_t t = 0; t < num_tokens; ++t) {
    for (std::int64_t j = 0; j < topk; ++j) {
      const std::int64_t s = indices[static_cast<std::size_t>(t * topk + j)];
      if (s == -1) continue;
      if (s < -1 || s >= num_slots) {
        throw Error("dsa_sparse_attention: sparse_indices[" + std::to_string(t) + ", " + std::to_string(j) +
                        "] = " + std::to_string(s) + " is not a cache slot",
                    "-1 (padding) or 0 <= index < num_pages * page_size = " + std::to_string(num_slots));
      }
      slots[static_cast<std::size_t>(t)].push_back(s);
    }
  }

  Tensor output(DType::kBFloat16, {num_tokens, heads, dim_ckv});  // zeros: a token without slots keeps them
  Tensor lse(DType::kFloat32, {num_tokens, heads});
  const auto out_data = output.data<Bf16>();
  const auto lse_data = lse.data<float>();
  std::fill(lse_data.begin(), lse_data.end(), -std::numeric_limits<float>::infinity());

  // One (token, head) pair per work item: each is independent, and there are enough of them
  // (128 at contest size) to keep every core busy even for a single token.
  parallel_for(num_tokens * heads, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<double> q(static_cast<std::size_t>(dim_ckv + dim_kpe));
    std::vector<double> acc(static_cast<std::size_t>(dim_ckv));
    std::vector<double> weights;
    for (std::int64_t th = begin; th < end; ++th) {
      const auto& token_slots = slots[static_cast<std::size_t>(th / heads)];
      if (token_slots.empty()) continue;
      for (std::int64_t c = 0; c < dim_ckv; ++c) {
        q[static_cast<std::size_t>(c)] = bf16_to_float(q_nope[static_cast<std::size_t>(th * dim_ckv + c)]);
      }
      for (std::int64_t c = 0; c < dim_kpe; ++c) {
        q[static_cast<std::size_t>(dim_ckv + c)] =
            bf16_to_float(q_pe[static_cast<std::size_t>(th * dim_kpe + c)]);
      }
      const std::span<const double> qn(q.data(), static_cast<std::size_t>(dim_ckv));
      const std::span<const double> qp(q.data() + dim_ckv, static_cast<std::size_t>(dim_kpe));

      // Scaled logits, then softmax weights exp(l - max) in place.
      weights.resize(token_slots.size());
      for (std::size_t j = 0; j < token_slots.size(); ++j) {
        const std::int64_t s = token_slots[j];
        const double logit = dot(qn, ckv.data() + s * dim_ckv) + dot(qp, kpe.data() + s * dim_kpe);
        weights[j] = logit * sm_scale;
      }
      const double max_scaled = *std::max_element(weights.begin(), weights.end());
      double sum = 0.0;
      for (double& w : weights) {
        w = std::exp(w - max_scaled);
        sum += w;
      }

      std::fill(acc.begin(), acc.end(), 0.0);
      for (std::size_t j = 0; j < token_slots.size(); ++j) {
        const double p = weights[j] / sum;
        const Bf16* v = ckv.data() + token_slots[j] * dim_ckv;
        for (std::int64_t c = 0; c < dim_ckv; ++c) {
          acc[static_cast<std::size_t>(c)] += p * static_cast<double>(bf16_to_float(v[c]));
        }
      }
      // Through float32 to bf16, the reference's out.to(torch.bfloat16) on a float32 result.
      for (std::int64_t c = 0; c < dim_ckv; ++c) {
        out_data[static_cast<std::size_t>(th * dim_ckv + c)] =
            float_to_bf16(static_cast<float>(acc[static_cast<std::size_t>(c)]));
      }
      lse_data[static_cast<std::size_t>(th)] =
          static_cast<float>((max_scaled + std::log(sum)) / std::numbers::ln2);
    }
  });

  TensorMap result;
  result.emplace("output", std::move(output));
  result.emplace("lse", std::move(lse));
  return result;
}

}  // namespace kforge::ref
