// One IMPALA update (learner/learner.h).
#include "learner/learner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "learner/loss.h"

namespace colony {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Weight of each new batch in the running mean square of returns: a time constant of ~100
// updates (~25k frames at T = 32, B = 8), slow enough that values lag their units by little.
constexpr double kReturnStatsRate = 0.01;
// Below this RMS the returns are taken as this: rewards are never multiplied by more than 100.
constexpr double kMinReturnRms = 0.01;
// --normalize-obs: the plain average of the first 100 batches' statistics, then an exponential
// one with the same ~100-update time constant as the returns'.
constexpr double kObsStatsRate = 0.01;
// --target-kl: the factor the learning rate's scale moves by after an update, and its floor.
constexpr double kLearningRateStep = 1.5;
constexpr double kMinLearningRateScale = 0.01;

// --max-kl: `weights` (just updated from `before`) keep the fraction of their step that lands
// near max_kl, since KL grows with the square of a small step; returns that fraction (1: kept
// whole).
double BoundStep(torch::Tensor weights, const torch::Tensor& before, double update_kl,
                 double max_kl) {
  if (update_kl <= max_kl) return 1.0;
  const double fraction = std::sqrt(max_kl / update_kl);
  torch::NoGradGuard no_grad;
  weights.sub_(before).mul_(fraction).add_(before);
  return fraction;
}

}  // namespace

bool UsesPopart(const LossConfig& loss, bool continuous_actions) {
  return loss.popart && loss.normalize_returns && (!continuous_actions || loss.popart_box);
}

Learner::Learner(std::shared_ptr<Policy> policy, const TrainConfig& config,
                 Collective* collective)
    : policy_(std::move(policy)),
      dist_(policy_->config()),
      collective_(collective),
      optimizer_(policy_->parameters(), config.optimizer, config.total_frames),
      return_mean_square_(std::nan("")) {
  const TrainConfig resolved = WithModelDefaults(config);
  loss_config_ = resolved.loss;
  epochs_ = resolved.epochs;
  popart_ = UsesPopart(loss_config_, dist_.continuous());
  if (popart_) ValueHead();  // throws now, not at the first update, if the model has none
}

UpdateStats Learner::Update(const Trajectory& batch, std::int64_t frames) {
  LossConfig config = loss_config_;
  if (frames < config.value_warmup_frames) config.policy_cost = 0.0;  // the value learns alone
  if (config.entropy_decay) {
    const double left = optimizer_.BudgetLeft(frames);
    config.entropy_cost *= left;
    config.entropy_per_advantage *= left;
  }
  const double return_rms = config.normalize_returns ? ReturnRms() : 1.0;
  config.reward_scale /= return_rms;
  // Every pass uses the same reward scale; the statistic moves once per batch. The numbers
  // reported are the first pass's (its KL and ratios measure the actors' policy lag), the
  // times are all passes'.
  const OptimizerConfig& optimizer_config = optimizer_.config();
  const bool measure_kl = optimizer_config.target_kl > 0 || optimizer_config.max_kl > 0;
  torch::Tensor logits_before, weights_before;
  if (optimizer_config.max_kl > 0) weights_before = policy_->flat_parameters().clone();
  UpdateStats stats = Pass(batch, frames, config, return_rms, /*update_return_stats=*/true,
                           measure_kl ? &logits_before : nullptr);
  stats.return_rms = return_rms;
  for (std::int64_t pass = 1; pass < epochs_; ++pass) {
    const UpdateStats more = Pass(batch, frames, config, return_rms, /*update_return_stats=*/false);
    stats.forward_s += more.forward_s;
    stats.backward_s += more.backward_s;
    stats.allreduce_s += more.allreduce_s;
    stats.optimizer_s += more.optimizer_s;
  }
  if (measure_kl) {
    stats.update_kl = UpdateKl(batch, logits_before);
    if (optimizer_config.max_kl > 0) {
      stats.step_fraction = BoundStep(policy_->flat_parameters(), weights_before, stats.update_kl,
                                      optimizer_config.max_kl);
    }
    if (optimizer_config.target_kl > 0) AdaptLearningRate(stats.update_kl);
  }
  if (popart_) PreserveValueOutputs(return_rms);
  // After the passes: they train the function the actors acted with (up to policy lag).
  if (policy_->config().normalize_obs) UpdateObsStats(batch);
  policy_->set_version(policy_->version() + 1);
  stats.version = policy_->version();
  return stats;
}

UpdateStats Learner::Pass(const Trajectory& batch, std::int64_t frames, const LossConfig& config,
                          double return_rms, bool update_return_stats,
                          torch::Tensor* logits_before) {
  UpdateStats stats;
  const std::int64_t steps = batch.steps();

  auto clock = std::chrono::steady_clock::now();
  const UnrollOutput out = policy_->Unroll(batch.obs, batch.first, batch.initial_memory);
  const auto logits = out.logits.slice(0, 0, steps);
  const auto values = out.values.slice(0, 0, steps);
  const auto bootstrap = out.values[steps];
  if (logits_before != nullptr) *logits_before = logits.detach();
  LossBatch loss_batch{batch.actions, batch.behaviour_logits, batch.rewards, batch.terminated,
                       batch.truncated, batch.truncation_values, &dist_};
  const LossOutput loss = ImpalaLoss(logits, values, bootstrap, loss_batch, config);
  stats.forward_s = SecondsSince(clock);
  if (config.normalize_returns && update_return_stats) {
    // This batch's mean v_s^2 back in reward units, averaged over learners: the statistic (and
    // so the next update's scale) must be the same number on every learner.
    const double unscaled = loss.target_mean_square * return_rms * return_rms;
    torch::Tensor averaged = torch::full({1}, unscaled, values.detach().options());
    AverageOverLearners(averaged);
    const double mean_square = averaged.item<double>();
    return_mean_square_ =
        std::isfinite(return_mean_square_)
            ? return_mean_square_ + kReturnStatsRate * (mean_square - return_mean_square_)
            : mean_square;
  }

  clock = std::chrono::steady_clock::now();
  policy_->ZeroGradients();
  loss.total.backward();
  stats.backward_s = SecondsSince(clock);

  if (collective_ != nullptr && collective_->size() > 1) {
    clock = std::chrono::steady_clock::now();
    // One call for every gradient: the buffer is contiguous (common/model/policy.h).
    torch::Tensor grads = policy_->flat_gradients();
    AverageOverLearners(grads);
    stats.allreduce_s = SecondsSince(clock);
  }

  clock = std::chrono::steady_clock::now();
  const Optimizer::StepInfo step = optimizer_.Step(frames);
  stats.optimizer_s = SecondsSince(clock);

  stats.total_loss = loss.total.item<double>();
  stats.policy_loss = loss.policy;
  stats.baseline_loss = loss.baseline;
  stats.entropy = loss.entropy;
  stats.entropy_weight = loss.entropy_weight;
  stats.mean_rho = loss.mean_rho;
  stats.kl = loss.kl;
  stats.rho_clip_fraction = loss.rho_clip_fraction;
  stats.ppo_clip_fraction = loss.ppo_clip_fraction;
  stats.advantage_mean = loss.advantage_mean;
  stats.advantage_std = loss.advantage_std;
  stats.explained_variance = loss.explained_variance;
  stats.learning_rate = step.learning_rate;
  stats.grad_norm = step.grad_norm;
  return stats;
}

double Learner::UpdateKl(const Trajectory& batch, const torch::Tensor& logits_before) {
  torch::Tensor kl;
  {
    torch::NoGradGuard no_grad;
    const UnrollOutput out = policy_->Unroll(batch.obs, batch.first, batch.initial_memory);
    // In double: a small step's KL is a difference of nearly equal log-probabilities, which in
    // float rounds to 0 or below (and a --target-kl brake would read it as no move at all).
    kl = dist_.Kl(logits_before.to(torch::kDouble),
                  out.logits.slice(0, 0, batch.steps()).to(torch::kDouble))
             .mean()
             .to(torch::kFloat)
             .reshape({1});
  }
  AverageOverLearners(kl);
  return kl.item<double>();
}

void Learner::AdaptLearningRate(double measured) {
  const double target = optimizer_.config().target_kl;
  double scale = optimizer_.learning_rate_scale();
  if (measured > 2.0 * target) {
    scale = std::max(scale / kLearningRateStep, kMinLearningRateScale);
  } else if (measured < 0.5 * target) {
    scale = std::min(scale * kLearningRateStep, 1.0);
  }
  optimizer_.set_learning_rate_scale(scale);
}

double Learner::ReturnRms() const {
  if (!std::isfinite(return_mean_square_)) return 1.0;
  return std::max(std::sqrt(return_mean_square_), kMinReturnRms);
}

void Learner::PreserveValueOutputs(double used_rms) {
  const double factor = used_rms / ReturnRms();
  torch::NoGradGuard no_grad;
  for (torch::Tensor& parameter : ValueHead()) parameter.mul_(factor);
}

std::vector<torch::Tensor> Learner::ValueHead() {
  // Looked up each time: the parameters are views into the flat buffer, re-bound when it is.
  const auto parameters = policy_->named_parameters();
  std::vector<torch::Tensor> head;
  for (const char* name : {"value_head.weight", "value_head.bias"}) {
    const torch::Tensor* found = parameters.find(name);
    if (found == nullptr) {
      throw std::invalid_argument(std::string("--popart: the model has no parameter ") + name +
                                  " to rescale");
    }
    head.push_back(*found);
  }
  return head;
}

void Learner::UpdateObsStats(const Trajectory& batch) {
  torch::NoGradGuard no_grad;
  const auto options = policy_->flat_parameters().options();
  const auto rows = batch.obs.reshape({-1, batch.obs.size(-1)}).to(options);
  // The mean first, then the spread around the learners' common mean: no E[x^2] - mean^2
  // cancellation for a dimension far from 0.
  torch::Tensor mean = rows.mean(0).contiguous();
  AverageOverLearners(mean);
  torch::Tensor var = (rows - mean).pow(2).mean(0).contiguous();
  AverageOverLearners(var);
  policy_->UpdateObsStats(mean, var, kObsStatsRate);
}

void Learner::AverageOverLearners(torch::Tensor& values) {
  if (collective_ == nullptr || collective_->size() <= 1) return;
  collective_->AllReduceSum(values.data_ptr<float>(), static_cast<std::size_t>(values.numel()));
  values.div_(static_cast<double>(collective_->size()));
}

}  // namespace colony
