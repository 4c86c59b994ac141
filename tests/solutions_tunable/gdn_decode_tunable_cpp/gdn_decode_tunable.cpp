// GDN decode on the CPU backend with designed-in performance effects (kforge_tune.h), the
// tuner's end-to-end test subject: every configuration computes the same correct outputs
// (gdn_decode_impl.h, the shared implementation); REPEAT and HEADS_PER_CHUNK only change how
// much redundant work is done, by factors of about two between neighbouring values.
#include <algorithm>

#include "gdn_decode_impl.h"
#include "kforge_tune.h"

namespace {

// Where the per-chunk passes store their sums, so the compiler cannot drop them.
volatile float g_sink;

// Sequential passes over the input state: the fixed cost each chunk pays (on a CPU, about
// two thirds of the step's own arithmetic). Each pass starts from a different value, so the
// compiler cannot reuse one for another.
void read_state(const kforge_arg& state) {
  const float* s = static_cast<const float*>(state.data);
  const std::size_t n = gdn_impl::nbytes(state) / sizeof(float);
  for (int pass = 0; pass < 4; ++pass) {
    float sum = static_cast<float>(pass);
    for (std::size_t i = 0; i < n; ++i) sum += s[i];
    g_sink = sum;
  }
}

}  // namespace

extern "C" int32_t gdn_decode(const kforge_arg* in, int32_t n_in, const kforge_arg* out, int32_t n_out, void*, uint64_t,
                              void*) {
  if (n_in != 9 || n_out != 2) return 1;
  const int64_t pairs = gdn_impl::num_heads(in);
  for (int repeat = 0; repeat < REPEAT; ++repeat) {
    for (int64_t begin = 0; begin < pairs; begin += HEADS_PER_CHUNK) {
      read_state(in[3]);
      gdn_impl::decode_heads(in, out, begin, std::min<int64_t>(begin + HEADS_PER_CHUNK, pairs));
    }
  }
  return 0;
}
