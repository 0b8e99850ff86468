// EpisodeWindow: the mean return and length of the last 100 finished episodes (IMPALA's and
// Gymnasium's reporting window), plus the total count. Fed by actors' finished episodes
// (serial trainer) or by the learner's EpisodeTracker (distributed runtime).
#pragma once

#include <cmath>
#include <cstdint>
#include <deque>

#include "common/env/vector_env.h"  // env::EpisodeStats

namespace colony {

class EpisodeWindow {
 public:
  static constexpr std::size_t kSize = 100;

  void Add(const env::EpisodeStats& episode) {
    ++count_;
    window_.push_back(episode);
    if (window_.size() > kSize) window_.pop_front();
  }
  std::int64_t count() const { return count_; }
  std::size_t size() const { return window_.size(); }
  double SumReturn() const {
    double sum = 0;
    for (const auto& e : window_) sum += e.episode_return;
    return sum;
  }
  // NaN while no episode has finished.
  double MeanReturn() const { return window_.empty() ? std::nan("") : SumReturn() / size(); }
  double SumLength() const {
    double sum = 0;
    for (const auto& e : window_) sum += static_cast<double>(e.length);
    return sum;
  }
  double MeanLength() const { return window_.empty() ? std::nan("") : SumLength() / size(); }

 private:
  std::deque<env::EpisodeStats> window_;
  std::int64_t count_ = 0;
};

}  // namespace colony
