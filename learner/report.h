// The per-update numbers a learner reports (learner/training_run.h writes the record): policy
// lag (learner version minus the version that acted, per sample) and the last update's losses
// and timings.
#pragma once

#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "common/metrics/metrics.h"
#include "learner/learner.h"

namespace colony {

struct PolicyLag {
  std::int64_t min = std::numeric_limits<std::int64_t>::max();
  std::int64_t max = std::numeric_limits<std::int64_t>::min();
  double sum = 0;
  double count = 0;

  // `lag` holds one value per sample ([T, B] int64).
  void Add(const torch::Tensor& lag) {
    if (lag.numel() == 0) return;
    min = std::min(min, lag.min().item<std::int64_t>());
    max = std::max(max, lag.max().item<std::int64_t>());
    sum += static_cast<double>(lag.sum().item<std::int64_t>());
    count += static_cast<double>(lag.numel());
  }
};

inline void AddUpdateStats(MetricsRecord& record, const UpdateStats& last) {
  record.Add("total_loss", last.total_loss)
      .Add("policy_loss", last.policy_loss)
      .Add("baseline_loss", last.baseline_loss)
      .Add("entropy", last.entropy)
      .Add("entropy_weight", last.entropy_weight)
      .Add("mean_rho", last.mean_rho)
      .Add("kl", last.kl)
      .Add("rho_clip_fraction", last.rho_clip_fraction)
      .Add("ppo_clip_fraction", last.ppo_clip_fraction)
      .Add("advantage_mean", last.advantage_mean)
      .Add("advantage_std", last.advantage_std)
      .Add("explained_variance", last.explained_variance)
      .Add("return_rms", last.return_rms)
      .Add("learning_rate", last.learning_rate)
      .Add("grad_norm", last.grad_norm)
      .Add("update_kl", last.update_kl)
      .Add("step_fraction", last.step_fraction)
      .Add("forward_s", last.forward_s)
      .Add("backward_s", last.backward_s)
      .Add("allreduce_s", last.allreduce_s)
      .Add("optimizer_s", last.optimizer_s);
}

}  // namespace colony
