// The tunable parameters of gdn_decode_tunable_cpp (solution.json "tunables" lists their
// values); the tuner writes each configuration into a copy of this file. The defaults are not
// the best configuration, so tuning has something to find.
#pragma once

// Times the whole step is computed: redundant work, so 1 is fastest.
#define REPEAT 2

// (sequence, v-head) pairs per chunk. Each chunk first reads the whole input state (a
// fixed cost per chunk), so fewer, larger chunks are faster.
#define HEADS_PER_CHUNK 2
