// The image torso: what reads an "image:H,W,C" observation (ModelConfig::observations) before
// the encoder, in both modes (Policy applies it to every step's row, so step/unroll agreement is
// untouched by it).
//
// In: rows [N, H*W*C] float32, the image's byte values (0..255) in H, W, C order.
// Out: features [N, ModelConfig::kImageFeatures].
//
// Each image is first standardised on its own (zero mean, unit variance over its H*W*C values,
// as a layer norm without weights), not divided by 255: so camera pixels (0..255) and symbolic
// grids that Gymnasium also declares as uint8 images (MiniGrid's view holds object, colour and
// state codes 0..10) reach the first convolution at the same scale. Divided by 255, MiniGrid's
// codes stayed within 0.04 of each other and the value function explained nothing in 300k
// frames (docs/environments.md).
//
// IMPALA's ResNet (Espeholt et al. 2018, fig. 3), chosen over the Nature CNN because it reads any
// image size (MiniGrid's 7 x 7 view as well as Atari's 84 x 84; the Nature CNN's 8 x 8 stride-4
// first layer needs at least 36 pixels a side) and because IMPALA found it the stronger of the
// two on DMLab. Three stages of 16, 32, 32 channels, each: a 3x3 convolution, a 3x3 max-pool of
// stride 2 (padding 1, so a side of n becomes ceil(n / 2)), and two residual blocks
// x + conv(relu(conv(relu(x)))); then relu, flatten, and a linear layer to 256 with a relu.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace colony {

class ImpalaCnnImpl : public torch::nn::Module {
 public:
  static constexpr std::int64_t kChannels[] = {16, 32, 32};

  // image: {H, W, C}.
  explicit ImpalaCnnImpl(const std::vector<std::int64_t>& image);
  torch::Tensor forward(const torch::Tensor& rows);

  // The side a stage's max-pool leaves of a side n: ceil(n / 2).
  static std::int64_t Pooled(std::int64_t n) { return (n + 1) / 2; }

 private:
  struct Stage {
    torch::nn::Conv2d conv{nullptr};
    torch::nn::Conv2d residual[2][2] = {{nullptr, nullptr}, {nullptr, nullptr}};
  };
  std::vector<std::int64_t> image_;
  std::vector<Stage> stages_;
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(ImpalaCnn);

}  // namespace colony
