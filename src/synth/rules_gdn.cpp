// GDN: q and k are L2-normalised per head, as the model does before the kernel; with raw N(0,1)
// keys (|k|^2 ~ 128) the delta rule's state grows about 3.5x per token and overflows to inf
// within about 100 tokens (tests/unit/synth_test.cpp, GdnPrefillWithRawNormalQkOverflows).
#include <cmath>

#include "core/parallel.h"
#include "synth/structured.h"

namespace kforge {
namespace {

void l2_normalised(const Definition& def, const Axes& axes, const CounterRng& rng, TensorMap& out,
                   std::string_view name) {
  Tensor t = make_input(def, axes, name);
  const std::int64_t dim = t.shape().back();
  const std::int64_t rows = t.numel() / std::max<std::int64_t>(dim, 1);
  auto data = t.data<Bf16>();
  parallel_for(rows, 256, [&](std::int64_t b, std::int64_t e) {
    std::vector<double> row(static_cast<std::size_t>(dim));
    for (std::int64_t r = b; r < e; ++r) {
      double norm2 = 0;
      for (std::int64_t d = 0; d < dim; ++d) {
        row[static_cast<std::size_t>(d)] = rng.normal(static_cast<std::uint64_t>(r * dim + d));
        norm2 += row[static_cast<std::size_t>(d)] * row[static_cast<std::size_t>(d)];
      }
      const double inv = 1.0 / std::sqrt(std::max(norm2, 1e-12));
      for (std::int64_t d = 0; d < dim; ++d) {
        data[static_cast<std::size_t>(r * dim + d)] = float_to_bf16(static_cast<float>(row[static_cast<std::size_t>(d)] * inv));
      }
    }
  });
  out.insert_or_assign(std::string(name), std::move(t));
}

void gen_q(const Definition& d, const Axes& a, const CounterRng& r, TensorMap& o) { l2_normalised(d, a, r, o, "q"); }
void gen_k(const Definition& d, const Axes& a, const CounterRng& r, TensorMap& o) { l2_normalised(d, a, r, o, "k"); }

// N sequences over T tokens: N-1 distinct cut points in [1, T-1] give lengths >= 1 that vary
// widely (T=8192, N=20: longest ~1400). With T < N some sequences are empty, which the
// reference skips.
void gen_cu_seqlens(const Definition& def, const Axes& axes, const CounterRng& rng, TensorMap& out) {
  Tensor t = make_input(def, axes, "cu_seqlens");
  const std::int64_t total = axes.at("total_seq_len");
  const std::int64_t n = t.numel() - 1;
  auto cu = t.data<std::int64_t>();
  std::vector<std::int64_t> cuts;
  if (n >= 1 && total >= n) {
    cuts = sample_distinct(total - 1, n - 1, rng);
    for (auto& c : cuts) c += 1;
  } else {
    for (std::int64_t i = 0; i + 1 < n; ++i) cuts.push_back(rng.integer(static_cast<std::uint64_t>(i), 0, total + 1));
  }
  std::sort(cuts.begin(), cuts.end());
  if (!cu.empty()) cu[0] = 0;
  for (std::size_t i = 0; i < cuts.size(); ++i) cu[i + 1] = cuts[i];
  if (n >= 1) cu[static_cast<std::size_t>(n)] = total;
  out.insert_or_assign("cu_seqlens", std::move(t));
}

}  // namespace

std::vector<StructuredRule> gdn_rules() {
  return {
      {"gdn_", {"q"}, "N(0,1) then L2-normalised per head, then bf16", gen_q},
      {"gdn_", {"k"}, "N(0,1) then L2-normalised per head, then bf16", gen_k},
      {"gdn_prefill_", {"cu_seqlens"},
       "0, then num_seqs-1 distinct sorted cut points in [1, total_seq_len-1], then total_seq_len", gen_cu_seqlens},
  };
}

}  // namespace kforge
