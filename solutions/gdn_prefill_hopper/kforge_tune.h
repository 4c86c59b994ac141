// Tunable configuration of gdn_prefill_hopper.cu (solution.json "tunables"): the search loop's
// tuner rewrites the values below, one candidate per configuration. These are the defaults.
#pragma once

// Calls with at most this many tokens in total run the plain recurrence in one launch instead
// of the chunked path (two launches and a chunk's set-up); at most 64.
#define RECURRENT_MAX_TOKENS 32
// With more sequences than the GPU has SMs per 32 v-heads, the chain CTAs (4 warps each) are
// double-buffered, one per SM, when the average sequence has at least this many tokens (the
// longest chains then run at full speed), else single-buffered, two per SM (their state loads
// and chunk loads overlap the other CTA's work).
#define SHORT_CHAIN_TOKENS 256
