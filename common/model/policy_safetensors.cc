// Policy::SaveSafetensors and Policy::LoadSafetensors (policy.h): the weights as a safetensors
// file, one tensor per parameter under its module path, with the model config, the weights
// version and the flat-buffer order as metadata. Loading checks every name, dtype, shape and
// the config before it touches a weight.
#include <torch/torch.h>

#include <string>
#include <unordered_map>

#include "common/base/shape_text.h"
#include "common/model/policy.h"
#include "common/model/safetensors.h"

namespace colony {

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
      fail("tensor '" + slot.name + "': expected " + ShapeText(slot.shape) + " " + dtype +
           ", got nothing (missing from the file)");
    }
    const std::string got_dtype = SafetensorsDtype(it->second.scalar_type());
    if (got_dtype != dtype) {
      fail("tensor '" + slot.name + "': expected dtype " + dtype + ", got " + got_dtype);
    }
    if (it->second.sizes() != c10::IntArrayRef(slot.shape)) {
      fail("tensor '" + slot.name + "': expected shape " + ShapeText(slot.shape) + ", got " +
           ShapeText(it->second.sizes()));
    }
  }
  if (by_name.size() != layout_.size()) {
    for (const auto& [name, tensor] : file.tensors) {
      bool known = false;
      for (const Slot& slot : layout_) known = known || slot.name == name;
      if (!known) {
        fail("tensor '" + name + "': expected only this model's " +
             std::to_string(layout_.size()) + " parameters, got an extra tensor " +
             ShapeText(tensor.sizes()));
      }
    }
  }
  // Heads, kind, memory length, the action kind and how observations are read change the
  // computation without changing any shape, so check them here.
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
    if (saved.actions != config_.actions) {  // e.g. Discrete(2) and Box(1): two outputs each
      fail("config: expected actions " + config_.actions + " (this model), got " + saved.actions);
    }
    if (saved.observations != config_.observations) {  // e.g. uint8 and float32 rows of 4
      fail("config: expected observations " + config_.observations + " (this model), got " +
           saved.observations);
    }
    if (config_.kind == "gtrxl" && saved.memory != config_.memory) {  // M = 32 runs, M = 64 now
      fail("config: expected memory " + std::to_string(config_.memory) +
           " (this model), got memory " + std::to_string(saved.memory) +
           " (pass --memory " + std::to_string(saved.memory) + " to use these weights)");
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

}  // namespace colony
