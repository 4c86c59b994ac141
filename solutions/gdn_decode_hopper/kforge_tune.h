// Tunable configuration of gdn_decode_hopper.cu (solution.json "tunables"): the search loop's
// tuner rewrites the values below, one candidate per configuration. These are the defaults.
#pragma once

// Consecutive state rows of one (sequence, v-head) pair per warp: each adds one 16-byte load in
// flight per lane (a 512-byte row per warp) and four float registers.
#define ROWS_PER_WARP 2
// Warps per block (block = 32 * WARPS_PER_BLOCK threads).
#define WARPS_PER_BLOCK 4
// State loads: 0 ld.global.nc, 1 ld.global.cs (evict first), 2 ld.global.nc.L1::no_allocate
// with a 256-byte L2 prefetch.
#define LOAD_HINT 2
// new_state stores: 0 st.global, 1 st.global.cs (evict first).
#define STORE_HINT 0
