// Output comparison. FlashInfer-Bench (bench/utils.py::compute_error_stats and its evaluators)
// fails any NaN or inf in a candidate's output outright, before comparing values; that rejects
// a correct DSA attention lse of -inf for an all-padding row, and it reports nothing about where.
// Here non-finite values are judged per element against the reference, and a non-finite
// mismatch still fails the output even when the matched ratio would forgive the element.
#include "harness/compare.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <span>
#include <utility>

#include "core/error.h"
#include "core/parallel.h"
#include "harness/worker.h"
#include "ref/oracles.h"

namespace kforge {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// FlashInfer-Bench's denominator guard in rel = abs / (|want| + eps).
constexpr double kRelEps = 1e-8;
// Elements per parallel chunk: decoding and comparing one costs a few nanoseconds.
constexpr std::int64_t kElementGrain = std::int64_t{1} << 16;
constexpr std::int32_t kPadding = -1;

// ---------------------------------------------------------------- formatting

// Shortest text that reads back to the same value; float-valued doubles (every decoded float
// dtype) print as the float, so 0.1f reads "0.1", not "0.10000000149011612".
std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::array<char, 64> buf{};
  const auto f = static_cast<float>(v);
  const auto r = static_cast<double>(f) == v ? std::to_chars(buf.data(), buf.data() + buf.size(), f)
                                             : std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), r.ptr);
}

// Errors in messages: six significant digits, so a rel of 1 / (1 + 1e-8) reads "1".
std::string format_error(double v) {
  std::array<char, 64> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::general, 6);
  return std::string(buf.data(), r.ptr);
}

// "[1, 0, 7]": the multi-index of flat element i of a row-major tensor of this shape.
std::string index_string(const Shape& shape, std::int64_t i) {
  Shape idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return shape_to_string(idx);
}

// ---------------------------------------------------------------- one element

enum class Verdict { kMatch, kOutOfTolerance, kNonFinite };

struct ElementCheck {
  Verdict verdict = Verdict::kMatch;
  double abs = 0;  // meaningful when both values are finite
  double rel = 0;
};

ElementCheck check_float(double got, double want, const Tolerance& tol) {
  if (std::isnan(want)) return {std::isnan(got) ? Verdict::kMatch : Verdict::kNonFinite};
  if (std::isinf(want)) return {got == want ? Verdict::kMatch : Verdict::kNonFinite};
  if (!std::isfinite(got)) return {Verdict::kNonFinite};
  ElementCheck c;
  c.abs = std::fabs(got - want);
  c.rel = c.abs / (std::fabs(want) + kRelEps);
  c.verdict = c.abs > tol.atol && c.rel > tol.rtol ? Verdict::kOutOfTolerance : Verdict::kMatch;
  return c;
}

// Why check_float failed, for messages.
std::string float_reason(double got, double want, const Tolerance& tol) {
  const ElementCheck c = check_float(got, want, tol);
  if (c.verdict == Verdict::kOutOfTolerance) {
    return "abs " + format_error(c.abs) + " > atol " + format_number(tol.atol) + " and rel " +
           format_error(c.rel) + " > rtol " + format_number(tol.rtol);
  }
  if (std::isnan(want)) return "the reference is nan here";
  if (std::isinf(want)) return "the reference is " + format_number(want) + " here";
  return format_number(got) + " where the reference is finite";
}

double decode(float v) { return v; }
double decode(Bf16 v) { return bf16_to_float(v); }
double decode(Fp16 v) { return fp16_to_float(v); }
double decode(Fp8E4M3 v) { return fp8e4m3_to_float(v); }
double decode(Fp8E5M2 v) { return fp8e5m2_to_float(v); }

// The byte the worker fills outputs with before each call; an element whose bytes all equal it
// was (almost certainly) never written: NaN for floats, 0x7F7F7F7F for int32.
std::byte poison_of(DType dtype) { return std::byte{poison_byte(dtype)}; }

bool all_bytes_are(std::span<const std::byte> bytes, std::byte value) {
  return std::all_of(bytes.begin(), bytes.end(), [value](std::byte b) { return b == value; });
}

template <class T>
bool holds_poison(const T& v, std::byte poison) {
  return all_bytes_are(std::as_bytes(std::span<const T, 1>(&v, 1)), poison);
}

// Bool tensors as their bytes: a byte other than 0 or 1 (the poison) is not a valid bool, and
// reading it as one would be undefined.
std::span<const std::uint8_t> bool_bytes(const Tensor& t) {
  const auto b = t.bytes();
  return {reinterpret_cast<const std::uint8_t*>(b.data()), b.size()};
}

// An integer element exactly (Tensor::get goes through double, which rounds int64 past 2^53).
std::int64_t int_at(const Tensor& t, std::int64_t i) {
  const auto u = static_cast<std::size_t>(i);
  switch (t.dtype()) {
    case DType::kInt64: return t.data<std::int64_t>()[u];
    case DType::kInt32: return t.data<std::int32_t>()[u];
    case DType::kInt16: return t.data<std::int16_t>()[u];
    case DType::kInt8: return t.data<std::int8_t>()[u];
    case DType::kBool: return bool_bytes(t)[u];
    default: throw Error("internal: int_at on " + std::string(dtype_name(t.dtype())));
  }
}

// ---------------------------------------------------------------- elementwise rule

// Counts over a range of elements; chunks merge into one.
struct Tally {
  std::int64_t mismatches = 0;
  std::int64_t non_finite = 0;   // mismatches involving NaN or inf
  std::int64_t not_written = 0;  // mismatches that still hold the poison pattern
  std::int64_t first = -1;       // flat index of the first mismatch
  double max_abs = 0;
  double max_rel = 0;

  void note(std::int64_t i, bool non_finite_mismatch, bool poisoned) {
    ++mismatches;
    non_finite += non_finite_mismatch ? 1 : 0;
    not_written += poisoned ? 1 : 0;
    if (first < 0) first = i;
  }
  void merge(const Tally& o) {
    mismatches += o.mismatches;
    non_finite += o.non_finite;
    not_written += o.not_written;
    if (o.first >= 0 && (first < 0 || o.first < first)) first = o.first;
    max_abs = std::max(max_abs, o.max_abs);
    max_rel = std::max(max_rel, o.max_rel);
  }
};

// Runs tally_range(begin, end) over chunks in parallel and merges the results.
template <class Fn>
Tally tally_parallel(std::int64_t n, Fn&& tally_range) {
  Tally total;
  std::mutex mutex;
  parallel_for(n, kElementGrain, [&](std::int64_t begin, std::int64_t end) {
    const Tally part = tally_range(begin, end);
    const std::lock_guard lock(mutex);
    total.merge(part);
  });
  return total;
}

template <class T>
Tally tally_floats(const Tensor& got, const Tensor& want, const Tolerance& tol, std::byte poison) {
  const auto g = got.data<T>();
  const auto w = want.data<T>();
  return tally_parallel(want.numel(), [&](std::int64_t begin, std::int64_t end) {
    Tally t;
    for (std::int64_t i = begin; i < end; ++i) {
      const auto u = static_cast<std::size_t>(i);
      const ElementCheck c = check_float(decode(g[u]), decode(w[u]), tol);
      if (c.verdict != Verdict::kNonFinite) {
        t.max_abs = std::max(t.max_abs, c.abs);
        t.max_rel = std::max(t.max_rel, c.rel);
      }
      if (c.verdict != Verdict::kMatch) t.note(i, c.verdict == Verdict::kNonFinite, holds_poison(g[u], poison));
    }
    return t;
  });
}

template <class T>
Tally tally_ints(std::span<const T> g, std::span<const T> w, std::byte poison) {
  return tally_parallel(static_cast<std::int64_t>(w.size()), [&](std::int64_t begin, std::int64_t end) {
    Tally t;
    for (std::int64_t i = begin; i < end; ++i) {
      const auto u = static_cast<std::size_t>(i);
      if (g[u] == w[u]) continue;
      // Errors of integers are only reported; any difference is a mismatch.
      const auto gv = static_cast<double>(g[u]), wv = static_cast<double>(w[u]);
      const double abs = std::fabs(gv - wv);
      t.max_abs = std::max(t.max_abs, abs);
      t.max_rel = std::max(t.max_rel, abs / (std::fabs(wv) + kRelEps));
      t.note(i, false, holds_poison(g[u], poison));
    }
    return t;
  });
}

Tally tally_elements(const Tensor& got, const Tensor& want, const Tolerance& tol) {
  const std::byte poison = poison_of(want.dtype());
  switch (want.dtype()) {
    case DType::kFloat32: return tally_floats<float>(got, want, tol, poison);
    case DType::kFloat16: return tally_floats<Fp16>(got, want, tol, poison);
    case DType::kBFloat16: return tally_floats<Bf16>(got, want, tol, poison);
    case DType::kFloat8E4M3FN: return tally_floats<Fp8E4M3>(got, want, tol, poison);
    case DType::kFloat8E5M2: return tally_floats<Fp8E5M2>(got, want, tol, poison);
    case DType::kInt64: return tally_ints(got.data<std::int64_t>(), want.data<std::int64_t>(), poison);
    case DType::kInt32: return tally_ints(got.data<std::int32_t>(), want.data<std::int32_t>(), poison);
    case DType::kInt16: return tally_ints(got.data<std::int16_t>(), want.data<std::int16_t>(), poison);
    case DType::kInt8: return tally_ints(got.data<std::int8_t>(), want.data<std::int8_t>(), poison);
    case DType::kBool: return tally_ints(bool_bytes(got), bool_bytes(want), poison);
    case DType::kFloat4E2M1: break;
  }
  throw Error("compare: outputs of dtype " + std::string(dtype_name(want.dtype())) + " are not supported");
}

double matched_ratio(std::int64_t mismatches, std::int64_t numel) {
  return numel == 0 ? 1.0 : static_cast<double>(numel - mismatches) / static_cast<double>(numel);
}

// "; 12 of 1048576 elements fail, 12 not written (...)": the totals after the first mismatch.
std::string totals(std::int64_t mismatches, std::int64_t numel, std::int64_t not_written, const char* unit,
                   const Tolerance& tol) {
  std::string s = "; " + std::to_string(mismatches) + " of " + std::to_string(numel) + " " + unit + " fail";
  if (not_written > 0) s += ", " + std::to_string(not_written) + " of them not written (poison pattern)";
  if (tol.required_matched_ratio < 1.0) {
    s += " (matched ratio " + format_number(matched_ratio(mismatches, numel)) + ", required " +
         format_number(tol.required_matched_ratio) + ")";
  }
  return s;
}

OutputComparison compare_elements(const std::string& name, const Tensor& got, const Tensor& want,
                                  const Tolerance& tol) {
  const Tally t = tally_elements(got, want, tol);
  OutputComparison oc;
  oc.name = name;
  oc.numel = want.numel();
  oc.mismatches = t.mismatches;
  oc.not_written = t.not_written;
  oc.matched_ratio = matched_ratio(t.mismatches, oc.numel);
  oc.max_abs_error = t.non_finite > 0 ? kInf : t.max_abs;
  oc.max_rel_error = t.non_finite > 0 ? kInf : t.max_rel;
  const bool fails = t.non_finite > 0 || oc.matched_ratio < tol.required_matched_ratio;
  oc.status = fails ? EvalStatus::kIncorrectNumerical : EvalStatus::kPassed;
  if (t.mismatches == 0) return oc;

  const std::int64_t i = t.first;
  const bool integer = !dtype_is_floating(want.dtype());
  const std::string got_s = integer ? std::to_string(int_at(got, i)) : format_number(got.get(i));
  const std::string want_s = integer ? std::to_string(int_at(want, i)) : format_number(want.get(i));
  std::string reason = integer ? "integers must match exactly" : float_reason(got.get(i), want.get(i), tol);
  const std::size_t size = dtype_size(got.dtype());
  if (all_bytes_are(got.bytes().subspan(static_cast<std::size_t>(i) * size, size), poison_of(got.dtype()))) {
    reason += "; not written: still the poison pattern";
  }
  oc.first_failure = "output '" + name + "' " + index_string(want.shape(), i) + ": got " + got_s + " expected " +
                     want_s + " (" + reason + ")" + totals(t.mismatches, oc.numel, t.not_written, "elements", tol);
  if (t.non_finite > 0 && !(oc.matched_ratio < tol.required_matched_ratio)) {
    oc.first_failure += "; a non-finite mismatch fails the output whatever the matched ratio";
  }
  return oc;
}

// ---------------------------------------------------------------- DSA top-k indexer

// topk_indices [batch, topk] holds global token slots page * page_size + offset, -1 as padding.
// FlashInfer-Bench's DsaTopkIndexerEvaluator accepts any order: it checks that each id is
// reachable and unique, then compares the sorted scores of both selections. The rule here,
// per row b with L = seq_lens[b] and k = min(topk, L):
//  (a) every entry other than -1 is a slot of the row's context: its page is block_table[b, j]
//      for a logical page j < ceil(L / page_size), and j * page_size + offset < L;
//  (b) no id appears twice;
//  (c) exactly k entries are not -1. FlashInfer-Bench implies this (its -1 scores are -inf, and
//      -inf against a finite score fails); it is checked on its own for a clearer message.
//      Where the -1 entries sit is free, as there: the consumer (sparse attention) skips -1
//      wherever it is, and demanding trailing padding would reject kernels the contest accepts;
//  (d) the selection's scores, recomputed with ref::dsa_indexer_token_scores and sorted
//      descending, match the reference selection's sorted scores under atol / rtol, so tokens
//      of (nearly) equal score are interchangeable.
// (a)-(c) fail the output outright (FlashInfer-Bench reports inf errors); (d) counts one mismatch
// per rank against the matched ratio. The reference's own rows must pass (a)-(c).
bool is_poison(std::int32_t id) { return holds_poison(id, poison_of(DType::kInt32)); }

std::int64_t axis_value(const Axes& axes, const char* name) {
  const auto it = axes.find(name);
  if (it == axes.end()) throw Error(std::string("compare: dsa_topk_indexer axis '") + name + "' missing");
  return it->second;
}

// Slot -> logical position for one row at a time; entries are reset after each row, so a pass
// costs O(seq_len + topk), not O(cache).
class RowContext {
 public:
  RowContext(const Axes& axes, const TensorMap& inputs)
      : m_page_size(axis_value(axes, "page_size")),
        m_max_pages(axis_value(axes, "max_num_pages")),
        m_slots(axis_value(axes, "num_pages") * m_page_size),
        m_position_of(static_cast<std::size_t>(m_slots), -1),
        m_seen_at(static_cast<std::size_t>(m_slots), -1) {
    const auto find = [&](const char* name) -> std::span<const std::int32_t> {
      const auto it = inputs.find(name);
      if (it == inputs.end()) throw Error(std::string("compare: dsa_topk_indexer input '") + name + "' missing");
      return it->second.data<std::int32_t>();
    };
    m_seq_lens = find("seq_lens");
    m_block_table = find("block_table");
  }

  std::int64_t seq_len() const { return m_seq_len; }

  // Makes row b current. Its block_table entries were validated by dsa_indexer_token_scores.
  void enter(std::int64_t b) {
    for (const std::int64_t slot : m_row_slots) m_position_of[static_cast<std::size_t>(slot)] = -1;
    m_row_slots.clear();
    m_row = b;
    m_seq_len = m_seq_lens[static_cast<std::size_t>(b)];
    for (std::int64_t t = 0; t < m_seq_len; ++t) {
      const std::int64_t slot = page(t / m_page_size) * m_page_size + t % m_page_size;
      m_position_of[static_cast<std::size_t>(slot)] = t;
      m_row_slots.push_back(slot);
    }
  }

  // The logical token position of a slot id in the current row, or -1 with *problem set.
  std::int64_t position(std::int64_t id, std::string* problem) const {
    if (is_poison(id)) {
      *problem = "id " + std::to_string(id) + " is the poison pattern (not written)";
      return -1;
    }
    if (id < 0 || id >= m_slots) {
      *problem = "id " + std::to_string(id) + " is not a slot of the cache (expected -1 or 0 <= id < " +
                 std::to_string(m_slots) + ")";
      return -1;
    }
    const std::int64_t t = m_position_of[static_cast<std::size_t>(id)];
    if (t >= 0) return t;
    const std::int64_t p = id / m_page_size;
    const std::int64_t used = (m_seq_len + m_page_size - 1) / m_page_size;
    for (std::int64_t j = 0; j < used; ++j) {
      if (page(j) == p) {
        *problem = "id " + std::to_string(id) + " is on the row's logical page " + std::to_string(j) +
                   " but its position " + std::to_string(j * m_page_size + id % m_page_size) +
                   " is past seq_len " + std::to_string(m_seq_len);
        return -1;
      }
    }
    *problem = "id " + std::to_string(id) + " is not in the row's pages (page " + std::to_string(p) + ")";
    return -1;
  }

  // Position of an earlier entry of the same id in the row being scanned, or -1; remembers this
  // one. forget_seen() clears the marks before the next scan.
  std::int64_t mark_seen(std::int64_t id, std::int64_t entry) {
    std::int64_t& at = m_seen_at[static_cast<std::size_t>(id)];
    if (at >= 0) return at;
    at = entry;
    m_seen_ids.push_back(id);
    return -1;
  }
  void forget_seen() {
    for (const std::int64_t id : m_seen_ids) m_seen_at[static_cast<std::size_t>(id)] = -1;
    m_seen_ids.clear();
  }

 private:
  std::int64_t page(std::int64_t j) const {
    return m_block_table[static_cast<std::size_t>(m_row * m_max_pages + j)];
  }

  std::int64_t m_page_size;
  std::int64_t m_max_pages;
  std::int64_t m_slots;  // num_pages * page_size
  std::span<const std::int32_t> m_seq_lens;
  std::span<const std::int32_t> m_block_table;
  std::int64_t m_row = 0;
  std::int64_t m_seq_len = 0;
  std::vector<std::int64_t> m_position_of;  // slot -> logical position in the current row, or -1
  std::vector<std::int64_t> m_row_slots;
  std::vector<std::int64_t> m_seen_at;  // slot -> entry where the current scan saw it, or -1
  std::vector<std::int64_t> m_seen_ids;
};

struct ScoredEntry {
  double score;
  std::int64_t entry;  // column in the row
};

// One row's selection after rules (a)-(c).
struct RowSelection {
  std::vector<ScoredEntry> valid;  // descending score (NaN first, as torch.topk ranks it)
  std::int64_t entries = 0;        // entries other than -1, valid or not
  std::int64_t invalid = 0;
  std::int64_t not_written = 0;
  std::string problem;  // the first broken rule: " position 3: ..." or, for the count, ": ..."
};

RowSelection select_row(std::span<const std::int32_t> ids, RowContext& ctx, const std::vector<double>& scores,
                        std::int64_t required) {
  RowSelection s;
  for (std::size_t e = 0; e < ids.size(); ++e) {
    const std::int32_t id = ids[e];
    if (id == kPadding) continue;
    ++s.entries;
    std::string problem;
    const std::int64_t t = ctx.position(id, &problem);
    const std::int64_t earlier = t >= 0 ? ctx.mark_seen(id, static_cast<std::int64_t>(e)) : -1;
    if (earlier >= 0) problem = "id " + std::to_string(id) + " repeats position " + std::to_string(earlier);
    if (!problem.empty()) {
      ++s.invalid;
      s.not_written += is_poison(id) ? 1 : 0;
      if (s.problem.empty()) s.problem = " position " + std::to_string(e) + ": " + problem;
      continue;
    }
    s.valid.push_back({scores[static_cast<std::size_t>(t)], static_cast<std::int64_t>(e)});
  }
  ctx.forget_seen();
  if (s.problem.empty() && s.entries != required) {
    s.problem = ": " + std::to_string(s.entries) + " ids selected, expected min(topk " + std::to_string(ids.size()) +
                ", seq_len " + std::to_string(ctx.seq_len()) + ") = " + std::to_string(required);
  }
  std::sort(s.valid.begin(), s.valid.end(), [](const ScoredEntry& a, const ScoredEntry& b) {
    const bool nan_a = std::isnan(a.score), nan_b = std::isnan(b.score);
    if (nan_a != nan_b) return nan_a;
    if (!nan_a && a.score != b.score) return a.score > b.score;
    return a.entry < b.entry;
  });
  return s;
}

OutputComparison compare_topk_indices(const std::string& name, const Axes& axes, const TensorMap& inputs,
                                      const Tensor& got, const Tensor& want, const Tolerance& tol) {
  const std::int64_t rows = want.dim(0), topk = want.dim(1);
  const auto g = got.data<std::int32_t>();
  const auto w = want.data<std::int32_t>();
  RowContext ctx(axes, inputs);
  OutputComparison oc;
  oc.name = name;
  oc.numel = want.numel();
  std::int64_t failing_rows = 0;
  bool invalid_selection = false;  // rules (a)-(c) or a non-finite score mismatch

  for (std::int64_t b = 0; b < rows; ++b) {
    const std::vector<double> scores = ref::dsa_indexer_token_scores(axes, inputs, b);
    ctx.enter(b);
    const std::int64_t required = std::min(topk, ctx.seq_len());
    const auto row_of = [&](std::span<const std::int32_t> all) {
      return all.subspan(static_cast<std::size_t>(b * topk), static_cast<std::size_t>(topk));
    };
    const std::string where = name + " row " + std::to_string(b);

    const RowSelection ref_sel = select_row(row_of(w), ctx, scores, required);
    if (!ref_sel.problem.empty()) throw Error("compare: reference " + where + ref_sel.problem);
    const RowSelection sel = select_row(row_of(g), ctx, scores, required);

    // Positions that break a rule; the cap keeps the ratio in [0, 1] when every entry is bad
    // and the count is off as well.
    std::int64_t row_mismatches = sel.invalid + std::abs(sel.entries - required);
    std::string row_problem = sel.problem.empty() ? "" : where + sel.problem;
    const std::size_t ranks = std::min(sel.valid.size(), ref_sel.valid.size());
    for (std::size_t r = 0; r < ranks; ++r) {
      const double got_score = sel.valid[r].score, want_score = ref_sel.valid[r].score;
      const ElementCheck c = check_float(got_score, want_score, tol);
      if (c.verdict != Verdict::kNonFinite) {
        oc.max_abs_error = std::max(oc.max_abs_error, c.abs);
        oc.max_rel_error = std::max(oc.max_rel_error, c.rel);
      }
      if (c.verdict == Verdict::kMatch) continue;
      ++row_mismatches;
      invalid_selection = invalid_selection || c.verdict == Verdict::kNonFinite;
      if (!row_problem.empty()) continue;
      const std::int64_t e = sel.valid[r].entry;
      row_problem = where + " position " + std::to_string(e) + " (id " +
                    std::to_string(g[static_cast<std::size_t>(b * topk + e)]) + "): score " +
                    format_number(got_score) + " is rank " + std::to_string(r) +
                    " of the selection, the reference's rank-" + std::to_string(r) + " score is " +
                    format_number(want_score) + " (" + float_reason(got_score, want_score, tol) + "): " +
                    (got_score < want_score ? "a lower-scoring token was selected"
                                            : "the scores differ from the reference selection's");
    }
    invalid_selection = invalid_selection || !sel.problem.empty();
    row_mismatches = std::min(row_mismatches, topk);
    oc.mismatches += row_mismatches;
    oc.not_written += sel.not_written;
    if (row_mismatches == 0) continue;
    ++failing_rows;
    if (oc.first_failure.empty()) oc.first_failure = row_problem;
  }

  oc.matched_ratio = matched_ratio(oc.mismatches, oc.numel);
  if (invalid_selection) {
    oc.max_abs_error = kInf;
    oc.max_rel_error = kInf;
  }
  const bool fails = invalid_selection || oc.matched_ratio < tol.required_matched_ratio;
  oc.status = fails ? EvalStatus::kIncorrectNumerical : EvalStatus::kPassed;
  if (!oc.first_failure.empty()) {
    oc.first_failure += "; " + std::to_string(failing_rows) + " of " + std::to_string(rows) + " rows fail" +
                        totals(oc.mismatches, oc.numel, oc.not_written, "positions", tol);
  }
  return oc;
}

// ---------------------------------------------------------------- driver

OutputComparison not_compared(const std::string& name, EvalStatus status, std::string why) {
  OutputComparison oc;
  oc.name = name;
  oc.status = status;
  oc.max_abs_error = kInf;
  oc.max_rel_error = kInf;
  oc.matched_ratio = 0;
  oc.first_failure = std::move(why);
  return oc;
}

void check_tolerance(const Tolerance& tol) {
  const bool ok = tol.atol >= 0 && tol.rtol >= 0 && tol.required_matched_ratio >= 0 &&
                  tol.required_matched_ratio <= 1;  // also false for NaN
  require(ok,
          "compare: tolerance atol " + format_number(tol.atol) + ", rtol " + format_number(tol.rtol) +
              ", required matched ratio " + format_number(tol.required_matched_ratio),
          "atol >= 0, rtol >= 0, 0 <= ratio <= 1");
}

}  // namespace

Tolerance default_tolerance(const Definition& def) {
  if (def.name.find("moe_fp8_block_scale") != std::string::npos) return {1.0, 0.3, 0.9};
  return {};
}

Comparison compare_outputs(const Definition& def, const Axes& axes, const TensorMap& inputs,
                           const TensorMap& expected, const TensorMap& actual, const Tolerance& tol) {
  check_tolerance(tol);
  const bool indexer = def.name.starts_with("dsa_topk_indexer");
  Comparison c;
  for (const auto& [name, spec] : def.outputs) {
    const auto want_it = expected.find(name);
    if (want_it == expected.end()) throw Error("compare: reference output '" + name + "' missing");
    const Tensor& want = want_it->second;
    const Shape spec_shape = resolve_shape(spec, axes);
    if (want.dtype() != spec.dtype || want.shape() != spec_shape) {
      throw Error("compare: reference output '" + name + "' is " + std::string(dtype_name(want.dtype())) + " " +
                      shape_to_string(want.shape()),
                  std::string(dtype_name(spec.dtype)) + " " + shape_to_string(spec_shape));
    }

    const auto got_it = actual.find(name);
    if (got_it == actual.end()) {
      c.outputs.push_back(not_compared(name, EvalStatus::kIncorrectShape, "output '" + name + "' missing"));
      continue;
    }
    const Tensor& got = got_it->second;
    if (got.shape() != want.shape()) {
      c.outputs.push_back(not_compared(name, EvalStatus::kIncorrectShape,
                                       "output '" + name + "' has shape " + shape_to_string(got.shape()) +
                                           ", expected " + shape_to_string(want.shape())));
    } else if (got.dtype() != want.dtype()) {
      c.outputs.push_back(not_compared(name, EvalStatus::kIncorrectDtype,
                                       "output '" + name + "' has dtype " + std::string(dtype_name(got.dtype())) +
                                           ", expected " + std::string(dtype_name(want.dtype()))));
    } else if (indexer && name == "topk_indices") {
      c.outputs.push_back(compare_topk_indices(name, axes, inputs, got, want, tol));
    } else {
      c.outputs.push_back(compare_elements(name, got, want, tol));
    }
  }

  std::string also;
  for (const OutputComparison& oc : c.outputs) {
    c.max_abs_error = std::max(c.max_abs_error, oc.max_abs_error);
    c.max_rel_error = std::max(c.max_rel_error, oc.max_rel_error);
    c.matched_ratio = std::min(c.matched_ratio, oc.matched_ratio);
    if (oc.status == EvalStatus::kPassed) continue;
    if (c.status == EvalStatus::kPassed) {
      c.status = oc.status;
      c.message = oc.first_failure;
    } else {
      also += (also.empty() ? "" : ", ") + ("'" + oc.name + "' (") + std::string(status_name(oc.status)) + ")";
    }
  }
  if (!also.empty()) c.message += "; also failing: " + also;
  return c;
}

}  // namespace kforge
