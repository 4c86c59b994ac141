// The search test's seed solution: a correct GDN decode step (gdn_decode_impl.h) computed
// KF_REPEAT times per call. Every repetition writes the same outputs, so any KF_REPEAT >= 1 is
// correct and the call's cost grows with it: the scripted agent (tests/search/scripted_agent.sh)
// makes a slower kernel by raising it and a faster one by lowering it.
#include "gdn_decode_impl.h"

#define KF_REPEAT 8

extern "C" int32_t gdn_decode(const kforge_arg* in, int32_t n_in, const kforge_arg* out, int32_t n_out, void*, uint64_t,
                              void*) {
  for (int r = 0; r < KF_REPEAT; ++r) {
    if (gdn_impl::decode(in, n_in, out, n_out) != 0) return 1;
    // The repetitions must all run: the compiler may not assume memory unchanged between them.
    asm volatile("" ::: "memory");
  }
  return 0;
}
