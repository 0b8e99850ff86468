// The IMPALA loss: policy gradient with V-trace advantages, baseline (value) regression to the
// V-trace targets, and an entropy bonus, each with its weight.
//
// In:  the learner's unroll outputs (logits [T, B, A], values [T, B], bootstrap value [B] from
//      the (T+1)-th observation) and what the actors recorded (LossBatch).
// Out: a scalar loss to backpropagate and its parts as plain numbers for the metrics.
//
// Truncation is not termination: where an episode was cut by a time limit at step t, the
// actor recorded V(last observation of that episode) in truncation_values[t]; the target at t
// is r_t + gamma * that value, and the trace stops there as it does at a termination, whose
// target is just r_t. Either way nothing leaks from the next episode.
#pragma once

#include <torch/types.h>

#include "common/config/train_config.h"  // LossConfig
#include "learner/vtrace.h"

namespace colony {

struct LossBatch {
  torch::Tensor actions;            // [T, B] int64
  torch::Tensor behaviour_logits;   // [T, B, A] the acting policy's logits
  torch::Tensor rewards;            // [T, B]
  torch::Tensor terminated;         // [T, B] bool: the episode ended for good at step t
  torch::Tensor truncated;          // [T, B] bool: the episode was cut (time limit) at step t
  torch::Tensor truncation_values;  // [T, B] V(last obs) where truncated, ignored elsewhere
};

struct LossOutput {
  torch::Tensor total;  // scalar, differentiable
  double policy = 0;    // mean -log pi(a) * advantage
  double baseline = 0;  // mean 0.5 * (v_s - V)^2
  double entropy = 0;   // mean entropy of pi (the bonus is -entropy_cost * entropy)
  double mean_rho = 0;  // mean unclipped importance weight: 1 when on-policy
};

// Discounts and rewards for V-trace with episode ends folded in (see the file comment).
struct FoldedRewards {
  torch::Tensor discounts;
  torch::Tensor rewards;
};
// Rewards are multiplied by `reward_scale` first; truncation values are already in the value
// function's (scaled) units.
FoldedRewards FoldEpisodeEnds(const LossBatch& batch, double gamma, double reward_scale = 1.0);

LossOutput ImpalaLoss(const torch::Tensor& logits, const torch::Tensor& values,
                      const torch::Tensor& bootstrap_value, const LossBatch& batch,
                      const LossConfig& config);

}  // namespace colony
