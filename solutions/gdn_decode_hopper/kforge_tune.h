// Tunable configuration of gdn_decode_hopper.cu (solution.json "tunables"): the search loop's
// tuner rewrites the values below, one candidate per configuration. These are the defaults, the
// best of the sweeps in docs/benchmarks/gdn.md (H100).
#pragma once

// Memory pipeline: 0 direct (every warp loads its rows into registers; any batch), 1 staged
// (persistent CTAs stream tiles through shared memory with bulk copies) from STAGED_MIN_BATCH
// sequences on, direct below.
#define PIPELINE 1

// Direct pipeline.
// Consecutive state rows of one (sequence, v-head) pair per warp: each adds one 16-byte load in
// flight per lane (a 512-byte row per warp) and four float registers.
#define ROWS_PER_WARP 4
// Warps per block (block = 32 * WARPS_PER_BLOCK threads).
#define WARPS_PER_BLOCK 4
// State loads: 0 ld.global.nc, 1 ld.global.cs (evict first), 2 ld.global.nc.L1::no_allocate
// with a 256-byte L2 prefetch, 3 as 2 with an L2 evict_first policy.
#define LOAD_HINT 3
// new_state stores (both pipelines): 0 st.global, 1 st.global.cs (evict first), 2 with an L2
// evict_last policy.
#define STORE_HINT 0

// Staged pipeline.
// Batch size from which the staged pipeline runs (it needs enough tiles to fill the GPU).
#define STAGED_MIN_BATCH 24
// State rows per bulk copy (TILE_ROWS * 512 bytes, within one sequence and head).
#define TILE_ROWS 32
// Bulk copies in flight per CTA (shared memory: STAGES * TILE_ROWS * 512 bytes).
#define STAGES 3
// Warps per CTA; each takes TILE_ROWS / STAGED_WARPS rows of a tile.
#define STAGED_WARPS 4
// Resident CTAs per SM in the persistent grid.
#define CTAS_PER_SM 4
// Bulk copies of the state: 0 default L2 policy, 1 L2 evict_first (the lines are dead once read).
#define TILE_LOAD_HINT 1
// Batch size from which the staged pipeline writes the new state back into the tile's stage and
// stores it with one bulk copy (TMA) per tile; below it, from registers (STORE_HINT applies). A
// value above any batch (1073741824) means never.
#define BULK_STORE_MIN_BATCH 40
