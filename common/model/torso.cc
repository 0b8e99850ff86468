// IMPALA's ResNet torso (common/model/torso.h).
#include "common/model/torso.h"

#include <string>

#include "common/model/model_config.h"

namespace colony {
namespace {

torch::nn::Conv2d Conv3x3(std::int64_t in, std::int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(1).padding(1));
}

}  // namespace

ImpalaCnnImpl::ImpalaCnnImpl(const std::vector<std::int64_t>& image) : image_(image) {
  std::int64_t channels = image_[2], height = image_[0], width = image_[1];
  for (std::size_t s = 0; s < std::size(kChannels); ++s) {
    Stage stage;
    const std::string name = "stage" + std::to_string(s);
    stage.conv = register_module(name + "_conv", Conv3x3(channels, kChannels[s]));
    for (int b = 0; b < 2; ++b) {
      for (int c = 0; c < 2; ++c) {
        stage.residual[b][c] =
            register_module(name + "_res" + std::to_string(b) + "_conv" + std::to_string(c),
                            Conv3x3(kChannels[s], kChannels[s]));
      }
    }
    stages_.push_back(stage);
    channels = kChannels[s];
    height = Pooled(height);
    width = Pooled(width);
  }
  out_ = register_module(
      "out", torch::nn::Linear(channels * height * width, ModelConfig::kImageFeatures));
}

torch::Tensor ImpalaCnnImpl::forward(const torch::Tensor& rows) {
  namespace F = torch::nn::functional;
  const std::int64_t n = rows.size(0), values = image_[0] * image_[1] * image_[2];
  torch::Tensor x = torch::layer_norm(rows.reshape({n, values}), {values})
                        .view({n, image_[0], image_[1], image_[2]})
                        .permute({0, 3, 1, 2});
  for (Stage& stage : stages_) {
    x = F::max_pool2d(stage.conv(x), F::MaxPool2dFuncOptions(3).stride(2).padding(1));
    for (auto& block : stage.residual) {
      x = x + block[1](torch::relu(block[0](torch::relu(x))));
    }
  }
  return torch::relu(out_(torch::relu(x).flatten(1)));
}

}  // namespace colony
