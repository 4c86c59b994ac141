#include "core/error.h"
#include "ref/oracles.h"

namespace kforge::ref {

TensorMap gdn_prefill(const Axes&, const TensorMap&) { throw Error("gdn_prefill oracle: not yet written"); }

}  // namespace kforge::ref
