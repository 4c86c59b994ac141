#include <algorithm>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "ref/gdn_common.h"
#include "ref/oracles.h"

namespace kforge::ref {
namespace {

// One sequence under one v-head: the unit of parallel work.
struct Item {
  std::int64_t seq;
  std::int64_t head;
  std::int64_t begin;  // first token
  std::int64_t end;    // one past the last token
};

// Checks what the recurrence relies on: segments that stay inside [0, total_seq_len] and do not
// overlap, so every output row is written by at most one (sequence, head) item.
void check_cu_seqlens(std::span<const std::int64_t> cu, std::int64_t total_seq_len) {
  for (std::size_t i = 0; i < cu.size(); ++i) {
    if (cu[i] < 0 || cu[i] > total_seq_len) {
      throw Error("gdn_prefill: input 'cu_seqlens'[" + std::to_string(i) + "] is " + std::to_string(cu[i]),
                  "a value in [0, total_seq_len=" + std::to_string(total_seq_len) + "]");
    }
    if (i > 0 && cu[i] < cu[i - 1]) {
      throw Error("gdn_prefill: input 'cu_seqlens' decreases at index " + std::to_string(i) + " (" +
                      std::to_string(cu[i - 1]) + " then " + std::to_string(cu[i]) + ")",
                  "non-decreasing cumulative lengths");
    }
  }
}

}  // namespace

TensorMap gdn_prefill(const Axes& axes, const TensorMap& inputs) {
  constexpr std::string_view kOp = "gdn_prefill";
  const gdn::HeadLayout heads = gdn::head_layout(axes, kOp);
  const std::int64_t total = gdn::axis(axes, kOp, "total_seq_len");
  const std::int64_t num_seqs = gdn::axis(axes, kOp, "num_seqs");
  const std::int64_t len_cu = gdn::axis(axes, kOp, "len_cu_seqlens");
  if (len_cu != num_seqs + 1) {
    throw Error("gdn_prefill: len_cu_seqlens is " + std::to_string(len_cu) + " with num_seqs " +
                    std::to_string(num_seqs),
                "len_cu_seqlens == num_seqs + 1");
  }
  const std::int64_t d = heads.head_size;
  const std::int64_t hv = heads.num_v_heads;

  const Tensor& q = gdn::input(inputs, kOp, "q", DType::kBFloat16, {total, heads.num_q_heads, d});
  const Tensor& k = gdn::input(inputs, kOp, "k", DType::kBFloat16, {total, heads.num_k_heads, d});
  const Tensor& v = gdn::input(inputs, kOp, "v", DType::kBFloat16, {total, hv, d});
  const Tensor* state = gdn::find_input(inputs, kOp, "state", DType::kFloat32, {num_seqs, hv, d, d}, true);
  const Tensor& a_log = gdn::input(inputs, kOp, "A_log", DType::kFloat32, {hv});
  const Tensor& a = gdn::input(inputs, kOp, "a", DType::kBFloat16, {total, hv});
  const Tensor& dt_bias = gdn::input(inputs, kOp, "dt_bias", DType::kFloat32, {hv});
  const Tensor& b = gdn::input(inputs, kOp, "b", DType::kBFloat16, {total, hv});
  const Tensor& cu_seqlens = gdn::input(inputs, kOp, "cu_seqlens", DType::kInt64, {len_cu});
  const float scale = gdn::read_scale(inputs, kOp, d);
  const std::span<const std::int64_t> cu = cu_seqlens.data<std::int64_t>();
  check_cu_seqlens(cu, total);

  const std::vector<float> q_vals = to_float_vector(q);
  const std::vector<float> k_vals = to_float_vector(k);
  const std::vector<float> v_vals = to_float_vector(v);
  const gdn::Gates gates = gdn::compute_gates(a, b, a_log, dt_bias, hv);

  // Empty sequences get no item: their new_state stays zero, as rows no sequence covers do.
  std::vector<Item> items;
  for (std::int64_t n = 0; n < num_seqs; ++n) {
    const auto begin = cu[static_cast<std::size_t>(n)], end = cu[static_cast<std::size_t>(n + 1)];
    if (end <= begin) continue;
    for (std::int64_t h = 0; h < hv; ++h) items.push_back({n, h, begin, end});
  }
  // Lengths vary by orders of magnitude, so workers pull items longest first from a shared
  // counter rather than take fixed ranges.
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& x, const Item& y) { return x.end - x.begin > y.end - y.begin; });

  Tensor output(DType::kBFloat16, {total, hv, d});
  Tensor new_state(DType::kFloat32, {num_seqs, hv, d, d});
  Bf16* const out = output.data<Bf16>().data();
  float* const states = new_state.data<float>().data();
  const float* const initial = state ? state->data<float>().data() : nullptr;
  const std::int64_t matrix = d * d;

  const auto run_item = [&](const Item& item) {
    const std::int64_t slot = (item.seq * hv + item.head) * matrix;
    float* s = states + slot;
    if (initial) std::copy(initial + slot, initial + slot + matrix, s);
    for (std::int64_t t = item.begin; t < item.end; ++t) {
      const std::int64_t row = t * hv + item.head;
      gdn::delta_rule_step(s, q_vals.data() + (t * heads.num_q_heads + heads.q_head(item.head)) * d,
                           k_vals.data() + (t * heads.num_k_heads + heads.k_head(item.head)) * d,
                           v_vals.data() + row * d, gates.g[static_cast<std::size_t>(row)],
                           gates.beta[static_cast<std::size_t>(row)], scale, d, out + row * d);
    }
  };
  std::atomic<std::size_t> next{0};
  parallel_for(static_cast<std::int64_t>(items.size()), 1, [&](std::int64_t, std::int64_t) {
    for (std::size_t i = next++; i < items.size(); i = next++) run_item(items[i]);
  });

  TensorMap result;
  result.emplace("output", std::move(output));
  result.emplace("new_state", std::move(new_state));
  return result;
}

}  // namespace kforge::ref
