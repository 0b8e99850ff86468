// The GTrXL network behind MakePolicy(kind "gtrxl"), and its GRU-type gate, exposed for tests.
//
// In: obs [T, B, obs_dim], first flags and the memory, through Policy::Unroll/Step (policy.h).
// Out: logits, values and the advanced memory. docs/model.md has the equations and the reasons.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "common/model/model_config.h"
#include "common/model/policy.h"

namespace colony {

// GTrXL's gate in place of a residual connection (Parisotto et al. 2019, eq. for g^GRU):
//   r = sigmoid(W_r y + U_r x)            reset
//   z = sigmoid(W_z y + U_z x - b_g)      update; b_g starts at kGateBias
//   h = tanh(W_g y + U_g (r * x))         candidate
//   g(x, y) = (1 - z) * x + z * h
// x is the residual stream, y the sublayer's output. With b_g = 2, z starts near
// sigmoid(-2) = 0.12, so a fresh block passes x through almost unchanged.
class GruGateImpl : public torch::nn::Module {
 public:
  static constexpr double kGateBias = 2.0;

  explicit GruGateImpl(std::int64_t width);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y);
  // z alone, for tests of the initial state.
  torch::Tensor UpdateGate(const torch::Tensor& x, const torch::Tensor& y);

 private:
  torch::nn::Linear from_y_{nullptr};   // [W_r; W_z; W_g]: width -> 3 * width
  torch::nn::Linear from_x_{nullptr};   // [U_r; U_z]: width -> 2 * width
  torch::nn::Linear from_rx_{nullptr};  // U_g
  torch::Tensor bias_;                  // b_g
};
TORCH_MODULE(GruGate);

std::shared_ptr<Policy> MakeGtrxlPolicy(const ModelConfig& config);

// Whether unrolls on float32 CPU tensors run attention through attention_kernel.h's loops (the
// default) or op by op, as on other devices; and how many layer forwards took the loops so far.
// For tests that hold the two to each other.
void SetFusedCpuAttention(bool on);
std::int64_t FusedCpuAttentionRuns();

// Parameters of a GTrXL with this config, by formula (tests compare it with the real count):
// per layer 17 d^2 + 2 d d_ff + d_ff + 10 d, plus embedding, final norm and the two heads.
std::int64_t GtrxlParameterCount(const ModelConfig& config);

}  // namespace colony
