#include "core/error.h"
#include "ref/oracles.h"

namespace kforge::ref {

TensorMap dsa_sparse_attention(const Axes&, const TensorMap&) { throw Error("dsa_sparse_attention oracle: not yet written"); }

}  // namespace kforge::ref
