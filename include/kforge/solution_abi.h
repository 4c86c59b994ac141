/* kforge solution ABI, version 1.
 *
 * A native kforge solution (language "cuda" or "cpp") is a shared object exporting
 *
 *   int32_t <entry>(const kforge_arg* inputs, int32_t num_inputs,
 *                   const kforge_arg* outputs, int32_t num_outputs,
 *                   void* workspace, uint64_t workspace_bytes, void* stream);
 *
 * where <entry> is the symbol of solution.json's entry_point ("kernel.cu::<entry>"). It is
 * destination-passing: inputs then outputs in the definition's order; outputs are allocated by
 * the harness (device memory for cuda, host memory for cpp) and must be written completely.
 * Scalars (shape null in the definition) arrive as host values in kforge_arg.scalar. `stream`
 * is a cudaStream_t for cuda solutions (all work must be ordered on it, or joined back to it
 * before returning) and NULL for cpp solutions. Return 0 on success, any other value on error.
 *
 * Optionally, a solution exports
 *
 *   uint64_t <entry>_workspace_size(const kforge_arg* inputs, int32_t num_inputs,
 *                                   const kforge_arg* outputs, int32_t num_outputs);
 *
 * and then receives a zero-filled-once workspace of that many bytes, allocated before timing, so
 * the timed call never allocates. Forbidden in the entry point: allocating or freeing device
 * memory, synchronizing the device, reading or writing files, network access, timers or sleeps.
 *
 * The header is plain C (usable from C, C++ and CUDA) and includes nothing beyond <stdint.h>.
 */
#ifndef KFORGE_SOLUTION_ABI_H
#define KFORGE_SOLUTION_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KFORGE_ABI_VERSION 1
#define KFORGE_MAX_RANK 8

/* Element types, in FlashInfer-Bench's dtype vocabulary. */
typedef enum kforge_dtype {
  KFORGE_FLOAT32 = 0,
  KFORGE_FLOAT16 = 1,
  KFORGE_BFLOAT16 = 2,
  KFORGE_FLOAT8_E4M3FN = 3,
  KFORGE_FLOAT8_E5M2 = 4,
  KFORGE_INT64 = 5,
  KFORGE_INT32 = 6,
  KFORGE_INT16 = 7,
  KFORGE_INT8 = 8,
  KFORGE_BOOL = 9
} kforge_dtype;

typedef enum kforge_arg_kind { KFORGE_TENSOR = 0, KFORGE_SCALAR = 1 } kforge_arg_kind;

typedef struct kforge_arg {
  int32_t kind;  /* kforge_arg_kind */
  int32_t dtype; /* kforge_dtype */
  /* KFORGE_TENSOR: data pointer, rank, shape and strides (in elements, row-major contiguous
   * today: strides[i] = prod(shape[i+1:])). */
  void* data;
  int32_t rank;
  int32_t reserved;
  int64_t shape[KFORGE_MAX_RANK];
  int64_t strides[KFORGE_MAX_RANK];
  /* KFORGE_SCALAR: the value; floating dtypes in f64, integer and bool dtypes in i64. */
  union {
    double f64;
    int64_t i64;
  } scalar;
} kforge_arg;

typedef int32_t (*kforge_entry_fn)(const kforge_arg* inputs, int32_t num_inputs, const kforge_arg* outputs,
                                   int32_t num_outputs, void* workspace, uint64_t workspace_bytes, void* stream);
typedef uint64_t (*kforge_workspace_fn)(const kforge_arg* inputs, int32_t num_inputs, const kforge_arg* outputs,
                                        int32_t num_outputs);

#ifdef __cplusplus
}
#endif

#endif /* KFORGE_SOLUTION_ABI_H */
