// DSA: index tensors must point at real cache slots, without duplicates, inside each request's
// context; the indexer's key cache must be the packed fp8 layout with sane per-token scales.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/parallel.h"
#include "synth/structured.h"

namespace kforge {
namespace {

// Lays contexts of the given lengths onto pages taken in order from one seeded permutation of
// the cache (wrapping if the cache is too small), like a paged allocator that has run a while.
std::vector<std::vector<std::int64_t>> assign_pages(const std::vector<std::int64_t>& lengths, std::int64_t page_size,
                                                    std::int64_t num_pages, const CounterRng& rng) {
  std::int64_t needed = 0;
  for (auto l : lengths) {
    const std::int64_t row_pages = (l + page_size - 1) / page_size;
    // A row's pages must be distinct; with fewer pages in the cache they cannot be (and with
    // none, the wrap below would divide by zero).
    if (row_pages > num_pages) {
      throw Error("a context of " + std::to_string(l) + " tokens needs " + std::to_string(row_pages) +
                      " distinct pages but the cache has num_pages = " + std::to_string(num_pages),
                  "num_pages >= the pages of the longest context (max_num_pages for the indexer)");
    }
    needed += row_pages;
  }
  const auto perm = sample_distinct(num_pages, std::min(needed, num_pages), rng);
  std::vector<std::vector<std::int64_t>> pages(lengths.size());
  std::size_t next = 0;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    for (std::int64_t p = 0; p < (lengths[r] + page_size - 1) / page_size; ++p) {
      pages[r].push_back(perm[next++ % perm.size()]);
    }
  }
  return pages;
}

// Each token is a decode request with a context of L in [topk/8, 4*topk] tokens; its row holds
// min(topk, L) distinct context slots (page*page_size + offset) in random order, then -1.
void gen_sparse_indices(const Definition& def, const Axes& axes, const CounterRng& rng, TensorMap& out) {
  Tensor t = make_input(def, axes, "sparse_indices");
  const std::int64_t tokens = axes.at("num_tokens"), topk = axes.at("topk");
  const std::int64_t page_size = axes.at("page_size"), num_pages = axes.at("num_pages");
  const CounterRng len_rng = rng.derive("lengths");
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(tokens));
  for (std::int64_t i = 0; i < tokens; ++i) {
    const std::int64_t hi = std::min(4 * topk, num_pages * page_size);
    // An empty cache (or topk 0) has no slot to point at: the row is all padding.
    lengths[static_cast<std::size_t>(i)] =
        hi <= 0 ? 0 : len_rng.integer(static_cast<std::uint64_t>(i), std::max<std::int64_t>(1, std::min(topk / 8, hi)), hi + 1);
  }
  const auto pages = assign_pages(lengths, page_size, num_pages, rng.derive("pages"));
  auto idx = t.data<std::int32_t>();
  std::fill(idx.begin(), idx.end(), -1);
  for (std::int64_t i = 0; i < tokens; ++i) {
    const auto& row_pages = pages[static_cast<std::size_t>(i)];
    const auto picks = sample_distinct(lengths[static_cast<std::size_t>(i)], topk, rng.derive(static_cast<std::uint64_t>(i)));
    for (std::size_t j = 0; j < picks.size(); ++j) {
      const std::int64_t pos = picks[j];
      idx[static_cast<std::size_t>(i * topk) + j] =
          static_cast<std::int32_t>(row_pages[static_cast<std::size_t>(pos / page_size)] * page_size + pos % page_size);
    }
  }
  out.insert_or_assign("sparse_indices", std::move(t));
}

// Row 0 fills all max_num_pages pages (so the axis is exercised); other rows draw a length in
// [1, max_num_pages*page_size]. Table entries past a row's context are -1, so any use of them
// fails loudly instead of reading a plausible page.
void gen_seq_lens_block_table(const Definition& def, const Axes& axes, const CounterRng& rng, TensorMap& out) {
  Tensor lens = make_input(def, axes, "seq_lens");
  Tensor table = make_input(def, axes, "block_table");
  const std::int64_t batch = axes.at("batch_size"), max_pages = axes.at("max_num_pages");
  const std::int64_t page_size = axes.at("page_size"), num_pages = axes.at("num_pages");
  const CounterRng len_rng = rng.derive("lengths");
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(batch));
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t lo = b == 0 ? (max_pages - 1) * page_size + 1 : 1;
    lengths[static_cast<std::size_t>(b)] = max_pages == 0 ? 0 : len_rng.integer(static_cast<std::uint64_t>(b), lo, max_pages * page_size + 1);
  }
  const auto pages = assign_pages(lengths, page_size, num_pages, rng.derive("pages"));
  auto l = lens.data<std::int32_t>();
  auto bt = table.data<std::int32_t>();
  std::fill(bt.begin(), bt.end(), -1);
  for (std::int64_t b = 0; b < batch; ++b) {
    l[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(lengths[static_cast<std::size_t>(b)]);
    const auto& row = pages[static_cast<std::size_t>(b)];
    for (std::size_t p = 0; p < row.size(); ++p) bt[static_cast<std::size_t>(b * max_pages) + p] = static_cast<std::int32_t>(row[p]);
  }
  out.insert_or_assign("seq_lens", std::move(lens));
  out.insert_or_assign("block_table", std::move(table));
}

// FlashInfer-Bench's packing: bf16 N(0,1) keys; per token scale = max(amax, 1e-4) / 448;
// fp8 = key / scale; per page the page_size*head_dim fp8 bytes, then page_size float32 scales.
void gen_packed_k_cache(const Definition& def, const Axes& axes, const CounterRng& rng, TensorMap& out) {
  Tensor t = make_input(def, axes, "k_index_cache_fp8");
  const std::int64_t num_pages = axes.at("num_pages"), page_size = axes.at("page_size");
  const std::int64_t dim = axes.at("head_dim_with_scale") - 4;
  const std::int64_t page_bytes = page_size * (dim + 4);
  auto* bytes = reinterpret_cast<unsigned char*>(t.bytes().data());
  parallel_for(num_pages, 64, [&](std::int64_t b, std::int64_t e) {
    std::vector<float> key(static_cast<std::size_t>(dim));
    for (std::int64_t p = b; p < e; ++p) {
      unsigned char* page = bytes + p * page_bytes;
      for (std::int64_t s = 0; s < page_size; ++s) {
        float amax = 0;
        for (std::int64_t d = 0; d < dim; ++d) {
          const auto i = static_cast<std::uint64_t>((p * page_size + s) * dim + d);
          key[static_cast<std::size_t>(d)] = bf16_to_float(float_to_bf16(static_cast<float>(rng.normal(i))));
          amax = std::max(amax, std::fabs(key[static_cast<std::size_t>(d)]));
        }
        const float scale = std::max(amax, 1e-4f) / 448.0f;
        for (std::int64_t d = 0; d < dim; ++d) {
          page[s * dim + d] = float_to_fp8e4m3(key[static_cast<std::size_t>(d)] / scale).bits;
        }
        std::memcpy(page + page_size * dim + s * 4, &scale, 4);
      }
    }
  });
  out.insert_or_assign("k_index_cache_fp8", std::move(t));
}

}  // namespace

std::vector<StructuredRule> dsa_rules() {
  return {
      {"dsa_sparse_attention_", {"sparse_indices"},
       "per token a context of L in [topk/8, 4*topk] tokens on pages of one seeded permutation; min(topk, L) "
       "distinct slots page*page_size+offset in random order, then -1",
       gen_sparse_indices},
      {"dsa_topk_indexer_", {"seq_lens", "block_table"},
       "row 0 uses all max_num_pages pages, others L in [1, max_num_pages*page_size]; each row's pages distinct "
       "(one seeded permutation); entries past the context are -1",
       gen_seq_lens_block_table},
      {"dsa_topk_indexer_", {"k_index_cache_fp8"},
       "deep_gemm packing as FlashInfer-Bench: bf16 N(0,1) keys, per-token scale max(amax,1e-4)/448, page = fp8 "
       "bytes then float32 scales",
       gen_packed_k_cache},
  };
}

}  // namespace kforge
