// How the benchmark programs time a piece of work: one warm-up call (allocator, first-call
// dispatch), then calls until both `min_calls` calls and `min_seconds` seconds have passed.
#pragma once

#include <chrono>
#include <cstdint>

namespace colony::bench {

template <typename Body>
double SecondsPerCall(double min_seconds, std::int64_t min_calls, Body body) {
  using Clock = std::chrono::steady_clock;
  body();
  const auto start = Clock::now();
  std::int64_t calls = 0;
  double elapsed = 0;
  while (calls < min_calls || elapsed < min_seconds) {
    body();
    ++calls;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return elapsed / static_cast<double>(calls);
}

}  // namespace colony::bench
