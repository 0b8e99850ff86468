// RMSProp / Adam with linear learning-rate decay and global gradient-norm clipping.
#include "learner/optimizer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace colony {
namespace {

// Weight of each new gradient norm in their running mean: a time constant of ~20 updates.
constexpr double kNormMeanRate = 0.05;

}  // namespace

Optimizer::Optimizer(std::vector<torch::Tensor> parameters, const OptimizerConfig& config,
                     std::int64_t total_frames)
    : parameters_(std::move(parameters)),
      config_(config),
      total_frames_(total_frames),
      mean_norm_(std::nan("")) {
  if (config_.kind == "rmsprop") {
    impl_ = std::make_unique<torch::optim::RMSprop>(
        parameters_, torch::optim::RMSpropOptions(config_.learning_rate)
                         .alpha(config_.rmsprop_alpha)
                         .eps(config_.rmsprop_epsilon)
                         .momentum(config_.rmsprop_momentum));
  } else if (config_.kind == "adam") {
    impl_ = std::make_unique<torch::optim::Adam>(
        parameters_, torch::optim::AdamOptions(config_.learning_rate)
                         .betas({config_.adam_beta1, config_.adam_beta2})
                         .eps(config_.adam_epsilon));
  } else {
    throw std::invalid_argument("optimizer: expected rmsprop or adam, got '" + config_.kind +
                                "'");
  }
}

Optimizer::~Optimizer() = default;

double Optimizer::BudgetLeft(std::int64_t frames) const {
  if (total_frames_ <= 0) return 1.0;
  const double left = 1.0 - static_cast<double>(frames) / static_cast<double>(total_frames_);
  return std::clamp(left, 0.0, 1.0);
}

double Optimizer::LearningRateAt(std::int64_t frames) const {
  if (!config_.linear_decay) return config_.learning_rate;
  return config_.learning_rate * BudgetLeft(frames);
}

Optimizer::StepInfo Optimizer::Step(std::int64_t frames) {
  StepInfo info;
  info.learning_rate = LearningRateAt(frames) * learning_rate_scale_;
  const double max_norm = config_.grad_clip > 0 ? config_.grad_clip
                                                : std::numeric_limits<double>::infinity();
  info.clip_norm = max_norm;
  if (config_.grad_clip_ratio > 0 && std::isfinite(mean_norm_)) {
    info.clip_norm = std::min(max_norm, config_.grad_clip_ratio * mean_norm_);
  }
  info.grad_norm = torch::nn::utils::clip_grad_norm_(parameters_, info.clip_norm);
  // The mean follows the unclipped norms, so a lasting rise (a task starting to be learned)
  // lifts the limit within ~20 updates.
  mean_norm_ = std::isfinite(mean_norm_)
                   ? mean_norm_ + kNormMeanRate * (info.grad_norm - mean_norm_)
                   : info.grad_norm;
  for (auto& group : impl_->param_groups()) group.options().set_lr(info.learning_rate);
  impl_->step();
  return info;
}

void Optimizer::ZeroGrad() { impl_->zero_grad(/*set_to_none=*/false); }

}  // namespace colony
