// The MLP baseline (common/model/mlp.h).
#include "common/model/mlp.h"

#include <torch/torch.h>

#include <vector>

namespace colony {
namespace {

class MlpPolicy : public Policy {
 public:
  explicit MlpPolicy(const ModelConfig& c) : Policy(c) {
    std::int64_t in = c.EncoderInputWidth();
    auto list = register_module("layers", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < c.layers; ++i) {
      layers_.push_back(torch::nn::Linear(in, c.d_model));
      list->push_back(layers_.back());
      in = c.d_model;
    }
    policy_head_ = register_module("policy_head", torch::nn::Linear(in, c.num_actions));
    value_head_ = register_module("value_head", torch::nn::Linear(in, 1));
    {
      // A near-uniform first policy. Unlike the GTrXL's head (common/model/gtrxl.cc), kept at
      // 0.01: the memoryless baseline has nothing only the policy must find, and with the
      // default head it reached CartPole's 475 later (docs/learning.md).
      torch::NoGradGuard no_grad;
      policy_head_->weight.mul_(0.01);
      policy_head_->bias.zero_();
    }
    FlattenParameters();
  }

 protected:
  UnrollOutput Forward(const torch::Tensor& obs, const torch::Tensor&,
                       const Memory& initial) override {
    torch::Tensor x = obs;
    for (auto& layer : layers_) x = torch::relu(layer(x));
    return {policy_head_(x), value_head_(x).squeeze(-1), initial};
  }

 private:
  std::vector<torch::nn::Linear> layers_;
  torch::nn::Linear policy_head_{nullptr}, value_head_{nullptr};
};

}  // namespace

std::shared_ptr<Policy> MakeMlpPolicy(const ModelConfig& config) {
  return std::make_shared<MlpPolicy>(config);
}

}  // namespace colony
