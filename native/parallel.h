// Thread count and a fork-join helper. Threads are spawned per call: the heavy
// entry points run for milliseconds or more, so spawn cost (tens of
// microseconds) is noise, and no pool outlives a call.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <system_error>
#include <thread>
#include <vector>

namespace zkp {

// hardware_concurrency, overridable by env ZKP_NATIVE_THREADS (a positive integer).
inline unsigned thread_count() {
  if (const char* env = std::getenv("ZKP_NATIVE_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v > 0 && v <= 1024) return (unsigned)v;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

// Runs task(i) for i in [0, tasks) on up to thread_count() threads, handing
// out indexes dynamically so uneven tasks balance.
inline void parallel_tasks(size_t tasks, const std::function<void(size_t)>& task, unsigned threads = 0) {
  if (threads == 0) threads = thread_count();
  const size_t workers = std::min<size_t>(threads, tasks);
  if (workers <= 1) {
    for (size_t i = 0; i < tasks; ++i) task(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto run = [&]() {
    for (size_t i = next.fetch_add(1); i < tasks; i = next.fetch_add(1)) task(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (size_t w = 1; w < workers; ++w) {
    // If the OS refuses a thread, the threads already started (and this
    // one) take its share: fewer threads, same result.
    try {
      pool.emplace_back(run);
    } catch (const std::system_error&) {
      break;
    }
  }
  run();
  for (auto& t : pool) t.join();
}

// Splits [0, n) into contiguous ranges (at least min_chunk long) and runs
// body(begin, end) on each in parallel.
inline void parallel_ranges(size_t n, size_t min_chunk, const std::function<void(size_t, size_t)>& body) {
  const unsigned threads = thread_count();
  size_t chunks = std::max<size_t>(1, std::min<size_t>(threads, n / std::max<size_t>(1, min_chunk)));
  const size_t step = (n + chunks - 1) / chunks;
  if (chunks <= 1) {
    if (n > 0) body(0, n);
    return;
  }
  parallel_tasks(chunks, [&](size_t c) {
    const size_t begin = c * step;
    const size_t end = std::min(n, begin + step);
    if (begin < end) body(begin, end);
  }, threads);
}

}  // namespace zkp
