// Policy: input checks shared by both modes, the flat parameter and gradient buffers, the
// safetensors checkpoint, the MLP baseline, and MakePolicy. The GTrXL lives in gtrxl.cc.
#include "common/model/policy.h"

#include <atomic>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "common/check.h"
#include "common/model/gtrxl.h"
#include "common/model/safetensors.h"

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

std::string ShapeString(c10::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

struct MemoryGeometry {
  std::int64_t layers, length, width;
};
MemoryGeometry GeometryOf(const ModelConfig& c) {
  if (c.kind == "mlp") return {0, 0, 0};
  return {c.layers, c.memory, c.d_model};
}

// The memoryless baseline: the same interface, `layers` ReLU layers of width d_model.
class MlpPolicy : public Policy {
 public:
  explicit MlpPolicy(const ModelConfig& c) : Policy(c) {
    std::int64_t in = c.obs_dim;
    auto list = register_module("layers", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < c.layers; ++i) {
      layers_.push_back(torch::nn::Linear(in, c.d_model));
      list->push_back(layers_.back());
      in = c.d_model;
    }
    policy_head_ = register_module("policy_head", torch::nn::Linear(in, c.num_actions));
    value_head_ = register_module("value_head", torch::nn::Linear(in, 1));
    {
      torch::NoGradGuard no_grad;  // near-uniform first policy, as in the GTrXL
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

Policy::Policy(ModelConfig config) : config_(std::move(config)) { config_.Validate(); }

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
  if (!obs.defined() || obs.dim() != time_dims + 1 || obs.size(-1) != config_.obs_dim ||
      !obs.is_floating_point()) {
    fail("obs", "a floating-point tensor shaped " + dims + ", " + std::to_string(config_.obs_dim) + "]",
         obs.defined() ? ShapeString(obs.sizes()) + " " + c10::toString(obs.scalar_type()) : "none");
  }
  if (obs.size(0) < 1) fail("obs", "at least one step", "T = 0");
  const auto leading = obs.sizes().slice(0, time_dims);
  if (!first.defined() || first.scalar_type() != torch::kBool || first.sizes() != leading) {
    fail("first", "a bool tensor shaped " + ShapeString(leading),
         first.defined() ? ShapeString(first.sizes()) + " " + c10::toString(first.scalar_type())
                         : "none");
  }
  const MemoryGeometry g = GeometryOf(config_);
  const int64_t batch = obs.size(time_dims - 1);
  const std::vector<int64_t> hidden_shape = {g.layers, g.length, batch, g.width};
  if (!memory.hidden.defined() || !memory.valid.defined() ||
      memory.hidden.sizes() != c10::IntArrayRef(hidden_shape) ||
      memory.valid.sizes() != c10::IntArrayRef({g.length, batch}) ||
      memory.valid.scalar_type() != torch::kBool) {
    fail("memory", "hidden " + ShapeString(hidden_shape) + " and bool valid " +
                       ShapeString({g.length, batch}) + " (see InitialMemory)",
         memory.hidden.defined() && memory.valid.defined()
             ? "hidden " + ShapeString(memory.hidden.sizes()) + " and valid " +
                   ShapeString(memory.valid.sizes()) + " " +
                   c10::toString(memory.valid.scalar_type())
             : "undefined tensors");
  }
}

StepOutput Policy::Step(const torch::Tensor& obs, const torch::Tensor& first, Memory& memory) {
  CheckInputs(obs, first, memory, 1);
  torch::NoGradGuard no_grad;  // actors never train; skipping the graph is most of the savings
  if (StepOutput fast; StepFast(obs, first, memory, &fast)) return fast;
  const auto options = flat_params_.options();
  UnrollOutput out = Forward(obs.to(options).unsqueeze(0), first.to(options.device()).unsqueeze(0),
                             memory.To(options));
  memory = std::move(out.final_memory);
  return {out.logits.squeeze(0), out.values.squeeze(0)};
}

UnrollOutput Policy::Unroll(const torch::Tensor& obs, const torch::Tensor& first,
                            const Memory& initial) {
  CheckInputs(obs, first, initial, 2);
  const auto options = flat_params_.options();
  return Forward(obs.to(options), first.to(options.device()), initial.To(options));
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
        (flat.defined() ? ShapeString(flat.sizes()) + " " + c10::toString(flat.scalar_type())
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

// --- checkpoints ------------------------------------------------------------------------------

void Policy::SaveSafetensors(const std::string& path) const {
  NamedTensors tensors;
  std::string order;
  for (std::size_t i = 0; i < layout_.size(); ++i) {
    tensors.emplace_back(layout_[i].name, params_[i]);
    order += (i ? "," : "") + layout_[i].name;
  }
  WriteSafetensors(path, tensors,
                   {{"colony.config", config_.ToJson()},
                    {"colony.version", std::to_string(version_)},
                    {"colony.flat_order", order}});
}

void Policy::LoadSafetensors(const std::string& path) {
  SafetensorsContents file = ReadSafetensors(path);
  auto fail = [&](const std::string& what) { throw ModelFileError(path + ": " + what); };
  std::unordered_map<std::string, torch::Tensor> by_name(file.tensors.begin(), file.tensors.end());
  const std::string dtype = SafetensorsDtype(flat_params_.scalar_type());
  for (const Slot& slot : layout_) {
    const auto it = by_name.find(slot.name);
    if (it == by_name.end()) {
      fail("tensor '" + slot.name + "': expected " + ShapeString(slot.shape) + " " + dtype +
           ", got nothing (missing from the file)");
    }
    const std::string got_dtype = SafetensorsDtype(it->second.scalar_type());
    if (got_dtype != dtype) {
      fail("tensor '" + slot.name + "': expected dtype " + dtype + ", got " + got_dtype);
    }
    if (it->second.sizes() != c10::IntArrayRef(slot.shape)) {
      fail("tensor '" + slot.name + "': expected shape " + ShapeString(slot.shape) + ", got " +
           ShapeString(it->second.sizes()));
    }
  }
  if (by_name.size() != layout_.size()) {
    for (const auto& [name, tensor] : file.tensors) {
      bool known = false;
      for (const Slot& slot : layout_) known = known || slot.name == name;
      if (!known) {
        fail("tensor '" + name + "': expected only this model's " +
             std::to_string(layout_.size()) + " parameters, got an extra tensor " +
             ShapeString(tensor.sizes()));
      }
    }
  }
  // Heads and kind change the computation without changing any shape, so check them here.
  std::int64_t version = version_;
  if (const auto it = file.metadata.find("colony.config"); it != file.metadata.end()) {
    ModelConfig saved;
    try {
      saved = ModelConfig::FromJson(it->second);
    } catch (const ModelConfigError& e) {
      fail(std::string("corrupt colony.config metadata: ") + e.what());
    }
    if (saved.kind != config_.kind || (config_.kind == "gtrxl" && saved.heads != config_.heads)) {
      fail("config: expected kind " + config_.kind + " with " + std::to_string(config_.heads) +
           " heads (this model), got kind " + saved.kind + " with " + std::to_string(saved.heads));
    }
  }
  if (const auto it = file.metadata.find("colony.version"); it != file.metadata.end()) {
    std::size_t used = 0;
    try {
      version = std::stoll(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != it->second.size()) {
      fail("colony.version metadata: expected an integer, got '" + it->second + "'");
    }
  }
  // Every check passed: only now touch the weights.
  RepairViews();
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < layout_.size(); ++i) params_[i].copy_(by_name.at(layout_[i].name));
  version_ = version;
}

std::shared_ptr<Policy> MakePolicy(const ModelConfig& config) {
  config.Validate();
  if (config.kind == "mlp") return std::make_shared<MlpPolicy>(config);
  return MakeGtrxlPolicy(config);
}

}  // namespace colony
