// @brief The closed loop: choose a parent, generate a candidate (an agent step or a tuner
// trial), run the cascade, promote beyond the noise, summarize, store; until a budget or the
// stop condition ends the run. Everything is in the store as it happens, so `resume_search`
// continues a killed run with the same ids. Design: docs/search-loop.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "search/judge.h"
#include "search/search_config.h"
#include "store/store.h"

namespace kforge::search {

struct SearchEnvironment {
  // The kforge binary: the draft-check command in TASK.md and the `search-worker` processes of
  // parallel slots.
  std::filesystem::path kforge_exe;
  // One progress line at a time (no newline).
  std::function<void(const std::string&)> progress;
  // The judge of evaluation slot `slot` of `slots`; empty: an in-process EvaluatorJudge for a
  // single slot, a ProcessJudge per slot (CUDA_VISIBLE_DEVICES = the slot's GPU) otherwise.
  std::function<std::unique_ptr<Judge>(int slot, int slots)> make_judge;
};

// Creates the run (its row holds `config`) and runs it to its end; returns the run id.
std::int64_t start_search(store::Store& store, const SearchConfig& config, const SearchEnvironment& env);

// Continues run `run_id` with the settings it was started with: candidates left pending are
// evaluated afresh under their ids, then generation goes on from the next step.
void resume_search(store::Store& store, std::int64_t run_id, const SearchEnvironment& env);

}  // namespace kforge::search
