// The IMPALA loss: policy gradient with V-trace advantages, baseline (value) regression to the
// V-trace targets, and an entropy bonus, each with its weight. With LossConfig::algo "appo" the
// policy term is PPO's clipped surrogate on the same V-trace advantages instead.
//
// In:  the learner's unroll outputs (logits [T, B, A]: the policy head's outputs, whatever the
//      action space, LossBatch::dist; values [T, B], bootstrap value [B] from
//      the (T+1)-th observation) and what the actors recorded (LossBatch).
// Out: a scalar loss to backpropagate, its parts and the diagnostics practitioners watch (KL,
//      clip fractions, advantage statistics, explained variance) as plain numbers.
//
// Truncation is not termination: where an episode was cut by a time limit at step t, the
// actor recorded V(last observation of that episode) in truncation_values[t]; the target at t
// is r_t + gamma * that value, and the trace stops there as it does at a termination, whose
// target is just r_t. Either way nothing leaks from the next episode.
#pragma once

#include <torch/types.h>

#include "common/config/train_config.h"  // LossConfig
#include "common/model/action_dist.h"
#include "learner/vtrace.h"

namespace colony {

struct LossBatch {
  torch::Tensor actions;            // [T, B] int64, or [T, B, D] float32 (Box)
  torch::Tensor behaviour_logits;   // [T, B, A] the acting policy's head outputs
  torch::Tensor rewards;            // [T, B]
  torch::Tensor terminated;         // [T, B] bool: the episode ended for good at step t
  torch::Tensor truncated;          // [T, B] bool: the episode was cut (time limit) at step t
  torch::Tensor truncation_values;  // [T, B] V(last obs) where truncated, ignored elsewhere
  // What the logits mean (common/model/action_dist.h); null: one categorical over the last
  // dimension (Discrete).
  const ActionDist* dist = nullptr;
};

struct LossOutput {
  torch::Tensor total;  // scalar, differentiable
  double policy = 0;    // mean -log pi(a) * advantage
  double baseline = 0;  // mean 0.5 * (v_s - V)^2
  double entropy = 0;   // mean entropy of pi (the bonus is -entropy_weight * entropy)
  // entropy_cost + entropy_per_advantage * advantage_std: the bonus's weight in this batch.
  double entropy_weight = 0;
  double mean_rho = 0;  // mean unclipped importance weight: 1 when on-policy
  // Mean over samples of KL(mu || pi) (discrete: sum_a mu(a) (log mu(a) - log pi(a))): how far
  // the learner has moved from the policy that acted.
  double kl = 0;
  double rho_clip_fraction = 0;  // fraction of samples with pi(a)/mu(a) > rho_bar (by > 0.1%)
  double ppo_clip_fraction = 0;  // appo: fraction with |pi(a)/mu(a) - 1| > ppo_clip; NaN for impala
  // The V-trace advantages before any normalisation, in the loss's reward units.
  double advantage_mean = 0;
  double advantage_std = 0;
  // 1 - Var(v_s - V) / Var(v_s): 1 when the values predict the targets, <= 0 when no better
  // than their mean.
  double explained_variance = 0;
  double target_mean_square = 0;  // mean of v_s^2, in the loss's reward units
};

// Discounts and rewards for V-trace with episode ends folded in (see the file comment).
struct FoldedRewards {
  torch::Tensor discounts;
  torch::Tensor rewards;
};
// Rewards are multiplied by `reward_scale` first; truncation values are already in the value
// function's (scaled) units.
FoldedRewards FoldEpisodeEnds(const LossBatch& batch, double gamma, double reward_scale = 1.0);

// Rewards are multiplied by config.reward_scale (the learner folds its running return
// normalisation into that number). config.normalize_returns is the learner's business.
LossOutput ImpalaLoss(const torch::Tensor& logits, const torch::Tensor& values,
                      const torch::Tensor& bootstrap_value, const LossBatch& batch,
                      const LossConfig& config);

}  // namespace colony
