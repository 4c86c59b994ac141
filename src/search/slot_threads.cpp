#include "search/slot_threads.h"

#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kforge::search {

void run_slot_threads(int n, const std::function<void(int slot)>& body, const std::function<void()>& stop) {
  if (n <= 1) {
    body(0);
    return;
  }
  std::mutex mutex;
  std::exception_ptr error;
  std::vector<std::thread> threads;
  for (int s = 0; s < n; ++s) {
    threads.emplace_back([&, s] {
      try {
        body(s);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
        stop();
      }
    });
  }
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace kforge::search
