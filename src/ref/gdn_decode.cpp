#include "core/error.h"
#include "ref/oracles.h"

namespace kforge::ref {

TensorMap gdn_decode(const Axes&, const TensorMap&) { throw Error("gdn_decode oracle: not yet written"); }

}  // namespace kforge::ref
