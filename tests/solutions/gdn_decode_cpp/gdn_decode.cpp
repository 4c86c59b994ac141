// GDN decode for the CPU backend (kforge solution ABI): one recurrent step per (sequence, v-head),
// computed by gdn_decode_impl.h (which the exploit suite shares).
#include "gdn_decode_impl.h"

extern "C" int32_t gdn_decode(const kforge_arg* in, int32_t n_in, const kforge_arg* out, int32_t n_out, void*, uint64_t,
                              void*) {
  return gdn_impl::decode(in, n_in, out, n_out);
}
