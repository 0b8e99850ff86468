// The GTrXL network: embedding, N gated pre-norm blocks attending over [memory ; segment] with
// Transformer-XL relative positions, a final norm, and policy and value heads.
//
// One code path defines both modes: Step is this Forward with T = 1 (reusing the memory rows'
// keys and values from the previous step, which changes results only by rounding; on float32 CPU
// weights Step runs gtrxl_step.h's equivalent fast path instead, and the attention of an unroll
// runs attention_kernel.h's loops, both held to this op-by-op path by tests), so
// step/unroll agreement rests on the attention mask, which encodes three rules for query step t and key position j
// (j < M: memory slot j; j >= M: segment step j - M):
//   * window:  0 <= distance <= M, where distance = (M + t) - j. Step mode sees exactly the last
//              M steps plus itself, so an unroll must not let step t see further back than that;
//   * episode: key and query lie in the same episode (same count of first flags so far; memory
//              counts as episode 0 of the unroll);
//   * valid:   a memory slot is used only if it holds a step of the current episode.
// Relative positions make the scores a function of distance only, never of where the window
// sits, which is what lets a sliding memory and a long unroll give the same numbers.
#include "common/model/gtrxl.h"

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/model/attention_kernel.h"
#include "common/model/gtrxl_step.h"

namespace colony {
namespace {

// Transformer-XL's sinusoid R for distances 0..max_distance: [max_distance + 1, width], the sin
// half then the cos half.
torch::Tensor RelativeEncoding(std::int64_t max_distance, std::int64_t width) {
  const std::int64_t half = (width + 1) / 2;
  torch::Tensor inv_freq =
      torch::pow(10000.0, -torch::arange(0, half, torch::kFloat64) * 2.0 / static_cast<double>(width));
  torch::Tensor angle = torch::arange(0, max_distance + 1, torch::kFloat64).unsqueeze(1) * inv_freq;
  return torch::cat({angle.sin(), angle.cos()}, 1).narrow(1, 0, width).to(torch::kFloat32);
}

std::atomic<bool> fused_cpu_attention{true};
std::atomic<std::int64_t> fused_cpu_attention_runs{0};

// attention_kernel.h as an autograd function: the learner's unroll on float32 CPU tensors.
class WindowAttention : public torch::autograd::Function<WindowAttention> {
 public:
  // q_content, q_position [T, B, d]; key_value [K, B, 2d]; position [H, M+1, w]; allowed
  // [B, T, K] uint8. Returns [T, B, d].
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx,
                               const torch::Tensor& q_content, const torch::Tensor& q_position,
                               const torch::Tensor& key_value, const torch::Tensor& position,
                               const torch::Tensor& allowed) {
    const attention_kernel::Shape shape = ShapeOf(q_content, position);
    torch::Tensor out = torch::empty_like(q_content);
    torch::Tensor probs =
        torch::empty({shape.batch, shape.heads, shape.steps, shape.memory + 1});
    fused_cpu_attention_runs.fetch_add(1, std::memory_order_relaxed);
    attention_kernel::Forward({shape, q_content.data_ptr<float>(), q_position.data_ptr<float>(),
                               key_value.data_ptr<float>(), position.data_ptr<float>(),
                               allowed.data_ptr<std::uint8_t>(), out.data_ptr<float>(),
                               probs.data_ptr<float>()});
    ctx->save_for_backward({q_content, q_position, key_value, position, probs});
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &q_content = saved[0], &q_position = saved[1], &key_value = saved[2];
    const torch::Tensor &position = saved[3], &probs = saved[4];
    const torch::Tensor d_out = grads[0].contiguous();
    torch::Tensor d_q_content = torch::empty_like(q_content);
    torch::Tensor d_q_position = torch::empty_like(q_position);
    torch::Tensor d_key_value = torch::zeros_like(key_value);
    torch::Tensor d_position = torch::zeros_like(position);
    attention_kernel::Backward(
        {ShapeOf(q_content, position), q_content.data_ptr<float>(), q_position.data_ptr<float>(),
         key_value.data_ptr<float>(), position.data_ptr<float>(), probs.data_ptr<float>(),
         d_out.data_ptr<float>(), d_q_content.data_ptr<float>(), d_q_position.data_ptr<float>(),
         d_key_value.data_ptr<float>(), d_position.data_ptr<float>()});
    return {d_q_content, d_q_position, d_key_value, d_position, torch::Tensor()};
  }

 private:
  static attention_kernel::Shape ShapeOf(const torch::Tensor& q, const torch::Tensor& position) {
    return {q.size(0), q.size(1), position.size(0), position.size(2), position.size(1) - 1};
  }
};

torch::nn::Linear Dense(std::int64_t in, std::int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

// One GTrXL block: gate(x, relu(attention(norm([mem; x])))) then gate(x, relu(ff(norm(x)))).
class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const ModelConfig& c)
      : heads_(c.heads), head_width_(c.d_model / c.heads) {
    const std::int64_t d = c.d_model;
    attn_norm_ = register_module("attn_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    query_ = register_module("query", Dense(d, d, false));
    key_value_ = register_module("key_value", Dense(d, 2 * d, false));
    position_ = register_module("position", Dense(d, d, false));  // W_R of Transformer-XL
    // u and v: the content and position biases that replace the query for absolute terms.
    content_bias_ = register_parameter("content_bias", torch::zeros({heads_, head_width_}));
    position_bias_ = register_parameter("position_bias", torch::zeros({heads_, head_width_}));
    attn_out_ = register_module("attn_out", Dense(d, d, true));
    attn_gate_ = register_module("attn_gate", GruGate(d));
    ff_norm_ = register_module("ff_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    ff_in_ = register_module("ff_in", Dense(d, c.d_ff, true));
    ff_out_ = register_module("ff_out", Dense(c.d_ff, d, true));
    ff_gate_ = register_module("ff_gate", GruGate(d));
  }

  // x [T, B, d] the segment, mem [M, B, d], allowed [B, T, M+T] (uint8), distance [T, M+T] in
  // [0, M], rel [M+1, d]. Returns the block's output for the segment, [T, B, d], and in *kv_all
  // the keys and values of all M+T rows, [M+T, B, 2d]. `cached` (optional, [M, B, 2d]) holds
  // the keys and values of mem already: LayerNorm and the projections act row by row, so only x
  // is projected.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mem, const torch::Tensor& cached,
                        const torch::Tensor& allowed, const torch::Tensor& distance,
                        const torch::Tensor& rel, torch::Tensor* kv_all) {
    const std::int64_t t = x.size(0), b = x.size(1), m = mem.size(0), k = m + t;
    const std::int64_t h = heads_, w = head_width_;
    torch::Tensor segment;  // normed x, [T, B, d]
    if (cached.defined()) {
      segment = attn_norm_(x);
      *kv_all = torch::cat({cached, key_value_(segment)}, 0);
    } else {
      torch::Tensor normed = attn_norm_(torch::cat({mem, x}, 0));  // [K, B, d]
      segment = normed.narrow(0, m, t);
      *kv_all = key_value_(normed);
    }
    // Queries with each bias, scaled by 1/sqrt(w) here rather than the [B, H, T, K] scores.
    const torch::Tensor q = query_(segment).view({t, b, h, w});
    const double scale = 1.0 / std::sqrt(static_cast<double>(w));
    const torch::Tensor q_content = (q + content_bias_.view({1, 1, h, w})) * scale;
    const torch::Tensor q_position = (q + position_bias_.view({1, 1, h, w})) * scale;
    const torch::Tensor r = position_(rel).view({m + 1, h, w});  // W_R R by distance
    torch::Tensor attended;  // [T, B, d]
    if (fused_cpu_attention.load(std::memory_order_relaxed) && x.device().is_cpu() &&
        x.scalar_type() == torch::kFloat32 && attention_kernel::Supports(w)) {
      attended = WindowAttention::apply(
          q_content.view({t, b, h * w}), q_position.view({t, b, h * w}), kv_all->contiguous(),
          r.permute({1, 0, 2}).contiguous(), allowed);
    } else {
      auto split = [&](const torch::Tensor& y, std::int64_t len) {  // -> [B, H, len, w]
        return y.reshape({len, b, h, w}).permute({1, 2, 0, 3});
      };
      std::vector<torch::Tensor> kv = kv_all->chunk(2, -1);
      torch::Tensor keys = split(kv[0], k), values = split(kv[1], k);
      torch::Tensor content = torch::matmul(q_content.permute({1, 2, 0, 3}),
                                            keys.transpose(-1, -2));  // [B, H, T, K]
      // The position terms of every query of a head in one product: [H, T*B, w] [H, w, M+1].
      torch::Tensor by_distance =
          torch::bmm(q_position.view({t * b, h, w}).permute({1, 0, 2}), r.permute({1, 2, 0}))
              .view({h, t, b, m + 1})
              .permute({2, 0, 1, 3});  // [B, H, T, M+1]
      torch::Tensor position = by_distance.gather(-1, distance.expand({b, h, t, k}));
      torch::Tensor scores = (content + position)
                                 .masked_fill_(allowed.logical_not().unsqueeze(1),
                                               -std::numeric_limits<double>::infinity());
      attended = torch::matmul(torch::softmax(scores, -1), values);  // [B, H, T, w]
      attended = attended.permute({2, 0, 1, 3}).reshape({t, b, h * w});
    }

    torch::Tensor y = attn_gate_(x, torch::relu(attn_out_(attended)));
    return ff_gate_(y, torch::relu(ff_out_(torch::relu(ff_in_(ff_norm_(y))))));
  }

 private:
  std::int64_t heads_, head_width_;
  torch::nn::LayerNorm attn_norm_{nullptr}, ff_norm_{nullptr};
  torch::nn::Linear query_{nullptr}, key_value_{nullptr}, position_{nullptr}, attn_out_{nullptr};
  torch::nn::Linear ff_in_{nullptr}, ff_out_{nullptr};
  torch::Tensor content_bias_, position_bias_;
  GruGate attn_gate_{nullptr}, ff_gate_{nullptr};
};
TORCH_MODULE(Block);

class GtrxlPolicy : public Policy {
 public:
  explicit GtrxlPolicy(const ModelConfig& c) : Policy(c) {
    embedding_ = register_module("embedding", Dense(c.EncoderInputWidth(), c.d_model, true));
    // A ModuleList names the parameters blocks.0.*, blocks.1.*, ... in the checkpoint.
    auto list = register_module("blocks", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < c.layers; ++i) {
      blocks_.push_back(Block(c));
      list->push_back(blocks_.back());
    }
    final_norm_ = register_module(
        "final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.d_model})));
    policy_head_ = register_module("policy_head", Dense(c.d_model, c.num_actions, true));
    value_head_ = register_module("value_head", Dense(c.d_model, 1, true));
    {
      // The policy head keeps Linear's default weights (logits of std ~0.6: every action gets
      // tried) and no bias. Not shrunk 100x as PPO code often does: the policy's gradient
      // reaches the shared torso through these weights, and where only the policy needs a
      // memory (RepeatPrevious: the value cannot predict random cards) a 0.01 head left the
      // transformer untaught for most of the budget (docs/learning.md).
      torch::NoGradGuard no_grad;
      policy_head_->bias.zero_();
    }
    // A buffer, not a parameter: it follows to(device/dtype) but is not trained or saved.
    rel_ = register_buffer("relative_encoding", RelativeEncoding(c.memory, c.d_model));
    FlattenParameters();
  }

 protected:
  bool StepFast(const torch::Tensor& obs, const torch::Tensor& first, Memory& memory,
                StepOutput* out) override {
    if (!stepper_.Supports(rel_)) return false;
    *out = stepper_.Step(*this, WeightsGeneration(), obs, first, memory);
    return true;
  }

  UnrollOutput Forward(const torch::Tensor& obs, const torch::Tensor& first,
                       const Memory& initial) override {
    const std::int64_t t = obs.size(0), b = obs.size(1), m = config().memory;
    const auto device = obs.device();
    // Invalid slots are zeroed so that nothing in them (even a NaN off the wire) can reach an
    // output through a zero attention weight.
    const torch::Tensor mem_valid = initial.valid;                           // [M, B]
    const torch::Tensor mem_hidden = initial.hidden.detach().masked_fill(
        mem_valid.logical_not().view({1, m, b, 1}), 0.0);                    // [L, M, B, d]

    // Episode index per step: how many first flags so far in the unroll (memory is episode 0).
    const torch::Tensor episode = first.to(torch::kInt64).cumsum(0);        // [T, B]
    const torch::Tensor key_episode =
        torch::cat({torch::zeros({m, b}, episode.options()), episode}, 0);  // [K, B]
    const torch::Tensor key_valid =
        torch::cat({mem_valid, torch::ones({t, b}, mem_valid.options())}, 0);
    const auto long_opts = torch::TensorOptions().dtype(torch::kInt64).device(device);
    const torch::Tensor distance =
        (torch::arange(t, long_opts).unsqueeze(1) + m) - torch::arange(m + t, long_opts).unsqueeze(0);
    const torch::Tensor in_window = distance.ge(0).logical_and(distance.le(m));  // [T, K]
    const torch::Tensor allowed = in_window.unsqueeze(0)
                                      .logical_and(key_episode.t().unsqueeze(1).eq(episode.t().unsqueeze(2)))
                                      .logical_and(key_valid.t().unsqueeze(1))
                                      .to(torch::kUInt8)
                                      .contiguous();  // [B, T, K], 1 = may attend
    const torch::Tensor clamped = distance.clamp(0, m);

    // Step mode (one step, no gradient) reads and leaves a key/value cache (memory.h).
    const bool step_mode = t == 1 && !torch::GradMode::is_enabled();
    const std::int64_t generation = step_mode ? WeightsGeneration() : -1;
    const bool use_cache = step_mode && initial.cache.defined() &&
                           initial.cache_generation == generation && initial.cache.size(2) == b;
    torch::Tensor x = embedding_(obs);  // [T, B, d]
    std::vector<torch::Tensor> layer_inputs, caches;
    for (std::size_t l = 0; l < blocks_.size(); ++l) {
      const auto layer = static_cast<std::int64_t>(l);
      layer_inputs.push_back(x.detach());
      torch::Tensor kv_all;
      x = blocks_[l](x, mem_hidden[layer], use_cache ? initial.cache[layer] : torch::Tensor(),
                     allowed, clamped, rel_, &kv_all);
      if (step_mode) caches.push_back(kv_all.narrow(0, t, m));
    }
    x = final_norm_(x);

    UnrollOutput out;
    out.logits = policy_head_(x);
    out.values = value_head_(x).squeeze(-1);
    // The memory Step would hold after step T-1: the last M of [memory ; segment], keeping only
    // steps of each column's current (last) episode.
    const torch::Tensor keep =
        key_valid.logical_and(key_episode.eq(episode[t - 1].unsqueeze(0))).narrow(0, t, m);
    torch::Tensor all = torch::cat({mem_hidden, torch::stack(layer_inputs, 0)}, 1);  // [L, K, B, d]
    out.final_memory.valid = keep.contiguous();
    out.final_memory.hidden =
        all.narrow(1, t, m).masked_fill(keep.logical_not().view({1, m, b, 1}), 0.0).contiguous();
    if (step_mode) {
      // Rows of slots that were just invalidated stay in the cache: the mask gives them weight
      // exactly 0 and their values are finite, so they cannot reach an output.
      out.final_memory.cache = torch::stack(caches, 0);
      out.final_memory.cache_generation = generation;
    }
    return out;
  }

 private:
  torch::nn::Linear embedding_{nullptr}, policy_head_{nullptr}, value_head_{nullptr};
  std::vector<Block> blocks_;
  torch::nn::LayerNorm final_norm_{nullptr};
  torch::Tensor rel_;
  GtrxlStepper stepper_{config()};
};

}  // namespace

GruGateImpl::GruGateImpl(std::int64_t width) {
  from_y_ = register_module("from_y", Dense(width, 3 * width, false));
  from_x_ = register_module("from_x", Dense(width, 2 * width, false));
  from_rx_ = register_module("from_rx", Dense(width, width, false));
  bias_ = register_parameter("bias", torch::full({width}, kGateBias));
}

torch::Tensor GruGateImpl::forward(const torch::Tensor& x, const torch::Tensor& y) {
  std::vector<torch::Tensor> wy = from_y_(y).chunk(3, -1);
  std::vector<torch::Tensor> ux = from_x_(x).chunk(2, -1);
  torch::Tensor r = torch::sigmoid(wy[0] + ux[0]);
  torch::Tensor z = torch::sigmoid(wy[1] + ux[1] - bias_);
  torch::Tensor candidate = torch::tanh(wy[2] + from_rx_(r * x));
  return x + z * (candidate - x);  // (1 - z) x + z h, with one fewer temporary
}

torch::Tensor GruGateImpl::UpdateGate(const torch::Tensor& x, const torch::Tensor& y) {
  return torch::sigmoid(from_y_(y).chunk(3, -1)[1] + from_x_(x).chunk(2, -1)[1] - bias_);
}

void SetFusedCpuAttention(bool on) { fused_cpu_attention.store(on); }
std::int64_t FusedCpuAttentionRuns() { return fused_cpu_attention_runs.load(); }

std::shared_ptr<Policy> MakeGtrxlPolicy(const ModelConfig& config) {
  return std::make_shared<GtrxlPolicy>(config);
}

std::int64_t GtrxlParameterCount(const ModelConfig& c) {
  const std::int64_t d = c.d_model, f = c.d_ff;
  const std::int64_t per_layer = 17 * d * d + 2 * d * f + f + 10 * d;
  return c.layers * per_layer + (c.obs_dim * d + d) + 2 * d + (d * c.num_actions + c.num_actions) +
         (d + 1);
}

}  // namespace colony
