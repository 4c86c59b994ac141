// @brief The evaluation slots' threads (--jobs, --gpus), shared by the agent and tune generators.
#pragma once

#include <functional>

namespace kforge::search {

// Runs body(slot) for slots 0..n-1, each on its own thread (on the calling one when n is 1).
// When a body throws, stop() is called (so the other slots wind down after their work in flight)
// and, once every slot has returned, the first exception is rethrown.
void run_slot_threads(int n, const std::function<void(int slot)>& body, const std::function<void()>& stop);

}  // namespace kforge::search
