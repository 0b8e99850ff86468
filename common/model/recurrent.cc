// GRU and LSTM policies (common/model/recurrent.h). One Forward serves both modes: Step is this
// loop with T = 1, so step/unroll agreement holds by construction, up to rounding.
#include "common/model/recurrent.h"

#include <torch/torch.h>

#include <vector>

namespace colony {
namespace {

class RecurrentPolicy : public Policy {
 public:
  explicit RecurrentPolicy(const ModelConfig& c) : Policy(c), lstm_(c.kind == "lstm") {
    const std::int64_t d = c.d_model;
    embedding_ = register_module("embedding", torch::nn::Linear(c.EncoderInputWidth(), d));
    auto list = register_module("cells", torch::nn::ModuleList());
    for (std::int64_t l = 0; l < c.layers; ++l) {
      if (lstm_) {
        lstm_cells_.push_back(torch::nn::LSTMCell(d, d));
        list->push_back(lstm_cells_.back());
      } else {
        gru_cells_.push_back(torch::nn::GRUCell(d, d));
        list->push_back(gru_cells_.back());
      }
    }
    final_norm_ =
        register_module("final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    policy_head_ = register_module("policy_head", torch::nn::Linear(d, c.num_actions));
    value_head_ = register_module("value_head", torch::nn::Linear(d, 1));
    FlattenParameters();
  }

 protected:
  UnrollOutput Forward(const torch::Tensor& obs, const torch::Tensor& first,
                       const Memory& initial) override {
    const std::int64_t t_max = obs.size(0), layers = config().layers;
    // The state, per layer and row, zeroed where it is not the column's current episode.
    std::vector<torch::Tensor> state;  // layers x rows, each [B, d]
    for (std::int64_t l = 0; l < layers; ++l) {
      for (std::int64_t r = 0; r < initial.length(); ++r) {
        state.push_back(initial.hidden[l][r] * initial.valid[r].unsqueeze(1).to(obs.dtype()));
      }
    }
    const std::int64_t rows = initial.length();
    std::vector<torch::Tensor> features;
    for (std::int64_t t = 0; t < t_max; ++t) {
      const torch::Tensor keep = first[t].logical_not().unsqueeze(1).to(obs.dtype());  // [B, 1]
      torch::Tensor x = torch::relu(embedding_(obs[t]));
      for (std::int64_t l = 0; l < layers; ++l) {
        torch::Tensor& h = state[static_cast<std::size_t>(l * rows)];
        h = h * keep;
        if (lstm_) {
          torch::Tensor& c = state[static_cast<std::size_t>(l * rows + 1)];
          c = c * keep;
          auto [h_next, c_next] = lstm_cells_[static_cast<std::size_t>(l)](x, std::make_tuple(h, c));
          h = h_next;
          c = c_next;
        } else {
          h = gru_cells_[static_cast<std::size_t>(l)](x, h);
        }
        x = h;
      }
      features.push_back(final_norm_(x));
    }
    const torch::Tensor y = torch::stack(features);  // [T, B, d]
    UnrollOutput out;
    out.logits = policy_head_(y);
    out.values = value_head_(y).squeeze(-1);
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> layer_states;
    for (std::int64_t l = 0; l < layers; ++l) {
      std::vector<torch::Tensor> per_row(state.begin() + l * rows, state.begin() + (l + 1) * rows);
      layer_states.push_back(torch::stack(per_row));  // [S, B, d], no graph under no_grad
    }
    out.final_memory.hidden = torch::stack(layer_states);  // [layers, S, B, d]
    // After a step every column's state belongs to its current episode.
    out.final_memory.valid = torch::ones_like(initial.valid);
    return out;
  }

 private:
  const bool lstm_;
  torch::nn::Linear embedding_{nullptr}, policy_head_{nullptr}, value_head_{nullptr};
  std::vector<torch::nn::GRUCell> gru_cells_;
  std::vector<torch::nn::LSTMCell> lstm_cells_;
  torch::nn::LayerNorm final_norm_{nullptr};
};

}  // namespace

std::int64_t RecurrentStateRows(const std::string& kind) { return kind == "lstm" ? 2 : 1; }

std::int64_t RecurrentParameterCount(const ModelConfig& c) {
  const std::int64_t d = c.d_model, gates = c.kind == "lstm" ? 4 : 3;
  return (c.EncoderInputWidth() * d + d) + c.layers * gates * (2 * d * d + 2 * d) + 2 * d +
         (d * c.num_actions + c.num_actions) + (d + 1);
}

std::shared_ptr<Policy> MakeRecurrentPolicy(const ModelConfig& config) {
  return std::make_shared<RecurrentPolicy>(config);
}

}  // namespace colony
