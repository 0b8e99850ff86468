// Learner: one IMPALA update from a [T, B] batch of trajectories.
//
// In:  a Trajectory batch (common/wire/trajectory.h) and the frames consumed so far (for the
//      learning-rate schedule). Out: updated weights in the shared Policy, version + 1, and the
//      numbers of this update (losses, learning rate, gradient norm, time per phase).
//
// Flow: unroll the T+1 observations from the actor's initial memory -> V-trace loss on the
// first T -> backward -> (with several learners) all-reduce the flat gradient buffer and
// average -> clip, optimiser step; --epochs N repeats that N times on the same batch. With --normalize-returns, rewards are divided by a running
// RMS of the value targets; the batch's share of that statistic is all-reduced too, so every
// learner holds the same number and applies the same update. The same code serves `colony train --serial` (no
// collective) and the distributed learner ranks.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "common/config/train_config.h"
#include "common/model/action_dist.h"
#include "common/model/policy.h"
#include "common/wire/trajectory.h"
#include "learner/collective.h"
#include "learner/optimizer.h"

namespace colony {

struct UpdateStats {
  double total_loss = 0;
  double policy_loss = 0;
  double baseline_loss = 0;
  double entropy = 0;
  // The entropy bonus's weight in this update: --entropy-cost + --entropy-per-advantage x the
  // batch's advantage std.
  double entropy_weight = 0;
  double mean_rho = 0;
  // Diagnostics (learner/loss.h says what each is): KL(mu || pi), the fractions of importance
  // ratios clipped by rho_bar and (appo) of clipped surrogate terms, the V-trace advantages'
  // mean and std before normalisation, and the values' explained variance.
  double kl = 0;
  double rho_clip_fraction = 0;
  double ppo_clip_fraction = 0;
  double advantage_mean = 0;
  double advantage_std = 0;
  double explained_variance = 0;
  // With --normalize-returns: the running RMS of the value targets in reward units (rewards are
  // divided by it); 1 otherwise.
  double return_rms = 1;
  double learning_rate = 0;
  double grad_norm = 0;
  // --target-kl / --max-kl: mean KL(pi before || pi after) of this update's passes on its batch,
  // before --max-kl's bound; NaN when both are off (it costs a forward pass).
  double update_kl = std::numeric_limits<double>::quiet_NaN();
  // --max-kl: the fraction of the optimiser's step kept (sqrt(max_kl / update_kl) when that
  // was above max_kl); 1 otherwise.
  double step_fraction = 1;
  std::int64_t version = 0;  // weights version after this update
  double forward_s = 0;
  double backward_s = 0;
  double allreduce_s = 0;
  double optimizer_s = 0;
};

// Whether an update rescales the value head (--popart): with --normalize-returns only, and on
// Box (continuous) action spaces only with --popart-box (measured worse there: Pendulum fell more).
bool UsesPopart(const LossConfig& loss, bool continuous_actions);

class Learner {
 public:
  // `collective` may be null (one learner); it must outlive the Learner.
  Learner(std::shared_ptr<Policy> policy, const TrainConfig& config, Collective* collective);

  UpdateStats Update(const Trajectory& batch, std::int64_t frames);

  Policy& policy() { return *policy_; }
  Optimizer& optimizer() { return optimizer_; }
  // --normalize-returns' statistic (checkpoints carry it, so that a resumed run divides its
  // rewards by the scale its value head learned in); NaN before the first update.
  double return_mean_square() const { return return_mean_square_; }
  void set_return_mean_square(double value) { return_mean_square_ = value; }

 private:
  // One optimiser step on `batch` (unroll, loss, backward, all-reduce, step), with rewards
  // already divided by `return_rms` in `config`; the version is the caller's.
  UpdateStats Pass(const Trajectory& batch, std::int64_t frames, const LossConfig& config,
                   double return_rms, bool update_return_stats,
                   torch::Tensor* logits_before = nullptr);
  // --target-kl / --max-kl: the mean KL from `logits_before` to the policy now on `batch`,
  // averaged over learners (so every learner takes the same decisions on it).
  double UpdateKl(const Trajectory& batch, const torch::Tensor& logits_before);
  // --target-kl: moves the optimiser's learning-rate scale after an update that moved the
  // policy by `measured`.
  void AdaptLearningRate(double measured);
  // --normalize-obs: the policy's observation statistics take in this batch's (averaged over
  // learners, so every learner's weights stay identical).
  void UpdateObsStats(const Trajectory& batch);
  // The RMS rewards are divided by under --normalize-returns: the running statistic's root,
  // floored; 1 before the first update.
  double ReturnRms() const;
  // --popart: multiplies the value head by `used_rms` (the RMS the update's rewards were divided
  // by) over the RMS the next update will use, so the values keep their reward-unit outputs.
  void PreserveValueOutputs(double used_rms);
  // The value head's weight and bias (views into the policy's flat buffer); throws
  // std::invalid_argument if the model has none.
  std::vector<torch::Tensor> ValueHead();
  // `values` (float, contiguous, on the model's device) averaged element-wise over the learners,
  // in place; untouched with one learner.
  void AverageOverLearners(torch::Tensor& values);

  std::shared_ptr<Policy> policy_;
  ActionDist dist_;
  LossConfig loss_config_;  // these two: WithModelDefaults(config), resolved once
  std::int64_t epochs_;
  Collective* collective_;
  Optimizer optimizer_;
  bool popart_ = false;  // UsesPopart(): --popart, on Box actions only with --popart-box
  // Running mean of v_s^2 in reward units (before normalisation); NaN before the first update.
  double return_mean_square_;
};

}  // namespace colony
