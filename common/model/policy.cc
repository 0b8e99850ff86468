// Policy: input checks shared by both modes, the flat parameter and gradient buffers, and
// MakePolicy. The networks live beside it (gtrxl.cc, mlp.cc), and so does the safetensors
// checkpoint of the weights (policy_safetensors.cc).
#include "common/model/policy.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>

#include "common/base/check.h"
#include "common/base/shape_text.h"
#include "common/model/gtrxl.h"
#include "common/model/mlp.h"
#include "common/model/recurrent.h"

namespace colony {
namespace {

// A tensor over `flat`'s storage that autograd does not see as a view: optimizers call
// detach_() on gradients (zero_grad), which autograd refuses for views.
torch::Tensor AliasInto(const torch::Tensor& flat, std::int64_t offset, c10::IntArrayRef sizes) {
  torch::Tensor alias = torch::empty({0}, flat.options());
  alias.set_(flat.storage(), flat.storage_offset() + offset, sizes,
             c10::contiguous_strides(sizes));
  return alias;
}

struct MemoryGeometry {
  std::int64_t layers, length, width;
};
MemoryGeometry GeometryOf(const ModelConfig& c) {
  if (c.kind == "mlp") return {0, 0, 0};
  if (c.kind == "gru" || c.kind == "lstm") return {c.layers, RecurrentStateRows(c.kind), c.d_model};
  return {c.layers, c.memory, c.d_model};
}

// Added to the running variance before its square root: a dimension that never varied reads 0.
constexpr double kObsVarEpsilon = 1e-8;

}  // namespace

Policy::Policy(ModelConfig config) : config_(std::move(config)) {
  config_.Validate();
  if (config_.normalize_obs) {  // constants: the other weights' random init is unchanged
    obs_mean_ = register_parameter("obs_mean", torch::zeros({config_.obs_dim}));
    obs_var_ = register_parameter("obs_var", torch::ones({config_.obs_dim}));
    obs_count_ = register_parameter("obs_count", torch::zeros({1}));
  }
  if (const std::vector<std::int64_t> image = config_.ImageShape(); !image.empty()) {
    torso_ = register_module("torso", ImpalaCnn(image));
  }
}

torch::Tensor Policy::EncoderInput(const torch::Tensor& obs) {
  torch::Tensor x = obs.to(flat_params_.options());  // uint8 to float is exact
  if (config_.normalize_obs) {  // float rows only (Validate); statistics are not trained
    const auto scale = (obs_var_.detach() + kObsVarEpsilon).rsqrt();
    return ((x - obs_mean_.detach()) * scale).clamp(-ModelConfig::kObsClip, ModelConfig::kObsClip);
  }
  if (!config_.ObsBytes()) return x;
  if (!torso_) return x * (1.0 / 255.0);
  std::vector<std::int64_t> sizes = x.sizes().vec();
  sizes.back() = ModelConfig::kImageFeatures;
  return torso_->forward(x.reshape({-1, config_.obs_dim})).view(sizes);
}

void Policy::UpdateObsStats(const torch::Tensor& batch_mean, const torch::Tensor& batch_var,
                            double min_rate) {
  if (!config_.normalize_obs) return;
  torch::NoGradGuard no_grad;
  const double w = std::max(1.0 / (obs_count_.item<double>() + 1.0), min_rate);
  const auto mean = batch_mean.to(obs_mean_.options()).reshape({config_.obs_dim});
  const auto var = batch_var.to(obs_var_.options()).reshape({config_.obs_dim});
  // The mixture (1 - w) N(m0, v0) + w N(m1, v1): mean (1 - w) m0 + w m1, variance
  // (1 - w) v0 + w v1 + w (1 - w) (m1 - m0)^2.
  const auto shift = mean - obs_mean_;
  obs_var_.mul_(1.0 - w).add_(w * var + w * (1.0 - w) * shift.pow(2));
  obs_mean_.add_(w * shift);
  obs_count_.add_(1.0);
}

std::int64_t Policy::obs_stats_batches() const {
  return config_.normalize_obs ? static_cast<std::int64_t>(obs_count_.item<double>()) : 0;
}

Memory Policy::InitialMemory(std::int64_t batch) const {
  const MemoryGeometry g = GeometryOf(config_);
  return Memory::Empty(g.layers, g.length, batch, g.width, flat_params_.options());
}

std::int64_t Policy::memory_flat_size() const {
  const MemoryGeometry g = GeometryOf(config_);
  return Memory::FlatSize(g.layers, g.length, g.width);
}

Memory Policy::MemoryFromFlat(const torch::Tensor& flat) const {
  const MemoryGeometry g = GeometryOf(config_);
  return Memory::Unflatten(flat, g.layers, g.length, g.width).To(flat_params_.options());
}

void Policy::CheckInputs(const torch::Tensor& obs, const torch::Tensor& first,
                         const Memory& memory, int64_t time_dims) const {
  const char* mode = time_dims == 1 ? "Policy::Step" : "Policy::Unroll";
  const std::string dims = time_dims == 1 ? "[E" : "[T, B";
  auto fail = [&](const std::string& what, const std::string& expected, const std::string& got) {
    throw std::invalid_argument(std::string(mode) + ": " + what + ": expected " + expected +
                                ", got " + got);
  };
  const bool bytes_ok = config_.ObsBytes() && obs.defined() && obs.scalar_type() == torch::kUInt8;
  if (!obs.defined() || obs.dim() != time_dims + 1 || obs.size(-1) != config_.obs_dim ||
      !(obs.is_floating_point() || bytes_ok)) {
    fail("obs", std::string(config_.ObsBytes() ? "a floating-point or uint8" : "a floating-point") +
                    " tensor shaped " + dims + ", " + std::to_string(config_.obs_dim) + "]",
         obs.defined() ? ShapeText(obs.sizes()) + " " + c10::toString(obs.scalar_type()) : "none");
  }
  if (obs.size(0) < 1) fail("obs", "at least one step", "T = 0");
  const auto leading = obs.sizes().slice(0, time_dims);
  if (!first.defined() || first.scalar_type() != torch::kBool || first.sizes() != leading) {
    fail("first", "a bool tensor shaped " + ShapeText(leading),
         first.defined() ? ShapeText(first.sizes()) + " " + c10::toString(first.scalar_type())
                         : "none");
  }
  const MemoryGeometry g = GeometryOf(config_);
  const int64_t batch = obs.size(time_dims - 1);
  const std::vector<int64_t> hidden_shape = {g.layers, g.length, batch, g.width};
  if (!memory.hidden.defined() || !memory.valid.defined() ||
      memory.hidden.sizes() != c10::IntArrayRef(hidden_shape) ||
      memory.valid.sizes() != c10::IntArrayRef({g.length, batch}) ||
      memory.valid.scalar_type() != torch::kBool) {
    fail("memory", "hidden " + ShapeText(hidden_shape) + " and bool valid " +
                       ShapeText({g.length, batch}) + " (see InitialMemory)",
         memory.hidden.defined() && memory.valid.defined()
             ? "hidden " + ShapeText(memory.hidden.sizes()) + " and valid " +
                   ShapeText(memory.valid.sizes()) + " " +
                   c10::toString(memory.valid.scalar_type())
             : "undefined tensors");
  }
}

StepOutput Policy::Step(const torch::Tensor& obs, const torch::Tensor& first, Memory& memory) {
  CheckInputs(obs, first, memory, 1);
  torch::NoGradGuard no_grad;  // actors never train; skipping the graph is most of the savings
  const torch::Tensor input = EncoderInput(obs);
  if (StepOutput fast; StepFast(input, first, memory, &fast)) return fast;
  const auto options = flat_params_.options();
  UnrollOutput out = Forward(input.unsqueeze(0), first.to(options.device()).unsqueeze(0),
                             memory.To(options));
  memory = std::move(out.final_memory);
  return {out.logits.squeeze(0), out.values.squeeze(0)};
}

UnrollOutput Policy::Unroll(const torch::Tensor& obs, const torch::Tensor& first,
                            const Memory& initial) {
  CheckInputs(obs, first, initial, 2);
  const auto options = flat_params_.options();
  return Forward(EncoderInput(obs), first.to(options.device()), initial.To(options));
}

// --- flat buffers -----------------------------------------------------------------------------

void Policy::FlattenParameters() {
  torch::NoGradGuard no_grad;
  const auto named = named_parameters(/*recurse=*/true);
  std::int64_t total = 0;
  for (const auto& item : named) total += item.value().numel();
  const auto options =
      named.is_empty() ? torch::TensorOptions().dtype(torch::kFloat32) : named[0].value().options();
  torch::Tensor flat = torch::empty({total}, options.requires_grad(false));
  torch::Tensor grads = torch::zeros({total}, options.requires_grad(false));
  layout_.clear();
  params_.clear();
  std::int64_t offset = 0;
  for (const auto& item : named) {
    torch::Tensor p = item.value();
    COLONY_CHECK(p.options().dtype() == options.dtype() && p.device() == options.device())
        << "parameter " << item.key() << " is on another device or dtype than the first";
    const std::int64_t n = p.numel();
    torch::Tensor view = flat.narrow(0, offset, n).view(p.sizes());
    view.copy_(p);
    p.set_data(view);  // the parameter now shares the flat buffer's storage
    if (p.grad().defined()) grads.narrow(0, offset, n).copy_(p.grad().reshape({n}));
    p.mutable_grad() = AliasInto(grads, offset, p.sizes());
    layout_.push_back({item.key(), offset, p.sizes().vec()});
    params_.push_back(p);
    offset += n;
  }
  flat_params_ = flat;
  flat_grads_ = grads;
  parameter_count_ = total;
  generation_ = -1;  // new storage: no cache made before this may be reused
}

void Policy::RepairViews() {
  torch::NoGradGuard no_grad;
  const auto elem = static_cast<std::int64_t>(flat_params_.element_size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    const Slot& slot = layout_[i];
    if (p.data_ptr() != static_cast<char*>(flat_params_.data_ptr()) + slot.offset * elem ||
        !p.is_contiguous()) {
      FlattenParameters();  // storage replaced (to(), set_data): rebuild from current values
      return;
    }
    torch::Tensor g_slot = flat_grads_.narrow(0, slot.offset, p.numel());
    const torch::Tensor& g = p.grad();
    if (g.defined() && g.data_ptr() == g_slot.data_ptr()) continue;
    // zero_grad() set it to none, or autograd made a fresh tensor: put it back in the buffer.
    if (g.defined()) {
      g_slot.copy_(g.reshape({p.numel()}));
    } else {
      g_slot.zero_();
    }
    p.mutable_grad() = AliasInto(flat_grads_, slot.offset, p.sizes());
  }
}

std::int64_t Policy::WeightsGeneration() {
  // Autograd's version counters count in-place writes: the optimizer's into each parameter,
  // LoadFlat's and users' into the flat buffer. Their sum only grows, so a changed sum (or
  // version) means the weights may differ from those that made a cache.
  static std::atomic<std::int64_t> next_generation{0};
  std::int64_t fingerprint = static_cast<std::int64_t>(flat_params_._version()) + version_;
  for (const torch::Tensor& p : params_) fingerprint += static_cast<std::int64_t>(p._version());
  if (generation_ < 0 || fingerprint != seen_fingerprint_) {
    seen_fingerprint_ = fingerprint;
    generation_ = next_generation.fetch_add(1);
  }
  return generation_;
}

torch::Tensor Policy::flat_parameters() {
  RepairViews();
  return flat_params_;
}

torch::Tensor Policy::flat_gradients() {
  RepairViews();
  return flat_grads_;
}

void Policy::ZeroGradients() {
  RepairViews();
  flat_grads_.zero_();
}

void Policy::LoadFlat(const torch::Tensor& flat, std::int64_t version) {
  if (!flat.defined() || flat.dim() != 1 || flat.numel() != parameter_count_ ||
      !flat.is_floating_point()) {
    throw std::invalid_argument(
        "Policy::LoadFlat: expected a 1-D floating-point tensor of " +
        std::to_string(parameter_count_) + " elements, got " +
        (flat.defined() ? ShapeText(flat.sizes()) + " " + c10::toString(flat.scalar_type())
                        : std::string("none")));
  }
  RepairViews();
  torch::NoGradGuard no_grad;
  flat_params_.copy_(flat);
  version_ = version;
}

void Policy::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(device, dtype, non_blocking);
  FlattenParameters();
}
void Policy::to(torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(dtype, non_blocking);
  FlattenParameters();
}
void Policy::to(torch::Device device, bool non_blocking) {
  torch::nn::Module::to(device, non_blocking);
  FlattenParameters();
}

std::shared_ptr<Policy> MakePolicy(const ModelConfig& config) {
  config.Validate();
  if (config.kind == "mlp") return MakeMlpPolicy(config);
  if (config.kind == "gru" || config.kind == "lstm") return MakeRecurrentPolicy(config);
  return MakeGtrxlPolicy(config);
}

}  // namespace colony
