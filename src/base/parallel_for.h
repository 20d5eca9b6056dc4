// Runs independent pieces of work on every CPU, with results that do not depend on which thread
// ran which piece: each index writes only its own slot, and the first failure by index (not by
// time) is the one reported.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <system_error>
#include <thread>
#include <vector>

#include "base/error.h"

namespace cryo {

// At most this many threads, the caller included: the work it is for (reading /proc of many
// processes) stops gaining beyond a few.
inline constexpr size_t kMaxParallelThreads = 4;

// Calls work(i) for every i in [0, count), on the calling thread and on up to `max_threads` - 1
// more (one per further CPU, unless `per_cpu` is false: for work that waits on the disk rather
// than computes), each taking the next index as it finishes one. work must be safe to run concurrently for different indices and must not use ptrace (a
// tracee answers only the thread that seized it). Returns the error of the lowest failing index.
template <typename Work>
Result<> parallel_for(size_t count, Work&& work, size_t max_threads = kMaxParallelThreads, bool per_cpu = true) {
  std::vector<Result<>> results(count);
  std::atomic<size_t> next{0};
  auto run = [&] {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < count;) results[i] = work(i);
  };
  size_t cpus = std::max<size_t>(1, std::thread::hardware_concurrency());
  size_t helpers = std::min({per_cpu ? cpus : max_threads, max_threads, count}) - (count ? 1 : 0);
  std::vector<std::thread> threads;
  threads.reserve(helpers);
  try {
    for (size_t t = 0; t < helpers; ++t) threads.emplace_back(run);
  } catch (const std::system_error&) {
    // No more threads to be had (the system is out of tasks): the ones started and this one do it all.
  }
  run();
  for (auto& thread : threads) thread.join();
  for (auto& result : results) RETURN_IF_ERROR(result);
  return {};
}

}  // namespace cryo
