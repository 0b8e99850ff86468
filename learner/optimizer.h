// The optimiser side of the learner: RMSProp (IMPALA's defaults) or Adam, a learning rate that
// decays linearly to zero over the frame budget, and gradient-norm clipping: at a fixed norm
// (--grad-clip) and at a multiple of the running mean of recent norms (--grad-clip-ratio). The
// running mean is not in checkpoints: after a resume the first update is not clipped by it.
//
// In: the model's parameters and their gradients (one flat buffer after the all-reduce).
// Out: updated parameters; the learning rate actually used is reported for the metrics.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config/train_config.h"  // OptimizerConfig

namespace torch::optim {
class Optimizer;
}

namespace colony {

class Optimizer {
 public:
  Optimizer(std::vector<torch::Tensor> parameters, const OptimizerConfig& config,
            std::int64_t total_frames);
  ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // The learning rate at `frames` consumed.
  double LearningRateAt(std::int64_t frames) const;
  // 1 - frames / total_frames, within [0, 1]; 1 without a budget. The linear schedules
  // (--lr-decay, --entropy-decay) multiply by it.
  double BudgetLeft(std::int64_t frames) const;

  struct StepInfo {
    double learning_rate = 0;
    double grad_norm = 0;  // before clipping
    double clip_norm = 0;  // the norm it was clipped at this step (inf: none)
  };
  // Clips the gradients, sets the learning rate for `frames` (times the scale below) and applies
  // one update.
  StepInfo Step(std::int64_t frames);
  // A multiplier on the schedule's learning rate (--target-kl moves it); 1 at construction.
  void set_learning_rate_scale(double scale) { learning_rate_scale_ = scale; }
  double learning_rate_scale() const { return learning_rate_scale_; }
  void ZeroGrad();

  torch::optim::Optimizer& impl() { return *impl_; }
  const OptimizerConfig& config() const { return config_; }
  std::int64_t total_frames() const { return total_frames_; }

 private:
  std::vector<torch::Tensor> parameters_;
  OptimizerConfig config_;
  std::int64_t total_frames_;
  std::unique_ptr<torch::optim::Optimizer> impl_;
  double learning_rate_scale_ = 1.0;
  double mean_norm_;  // running mean of the gradient norms before clipping; NaN before the first
};

}  // namespace colony
