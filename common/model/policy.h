// Policy: the network actors act with and learners train, in two modes over one set of weights.
//
// Observations are float32 rows, or for models whose config.observations holds bytes ("uint8",
// "image:H,W,C") uint8 rows or float rows of the same 0..255 values (the actor steps float rows;
// the learner's batch is uint8): both read the same, through the image torso (torso.h) where
// there is one (registered first, as "torso.*"), else x 1/255.
//
//   step mode (actors):    obs [E, obs_dim], first [E]    + Memory (updated in place)
//                          -> logits [E, A], values [E]
//   unroll mode (learner): obs [T, B, obs_dim], first [T, B] + the Memory the actor held before
//                          step 0 -> logits [T, B, A], values [T, B]
// Unroll reproduces T calls of Step on the same data (tests/model_test.cc holds it to 1e-5).
//
// The first-flag convention (both modes): first[t, b] == true means obs[t, b] is the first
// observation of a new episode (the env auto-reset before producing it). Step t then attends
// only to steps of that episode: nothing before the latest first flag at or before t, and none
// of the initial memory if that flag lies inside the unroll. In step mode the column's memory
// is cleared before use. An actor therefore passes first = "the previous step ended the
// episode" (true for every env at the very first step), and ships those flags to the learner.
//
// Weights: every parameter is a view into one contiguous buffer, flat_parameters(), and every
// gradient a view into flat_gradients(), so the learner all-reduces gradients and broadcasts
// weights with one call each. The buffers live on the parameters' device and dtype; to(device)
// and to(dtype) re-flatten there. The view bindings are checked (and repaired) whenever a flat
// buffer is asked for, so torch::optim optimizers work unchanged, even zero_grad() (which sets
// gradients to none): flat_gradients() copies any new gradient tensors back into the buffer.
// Weights carry a version (learner: updates so far) that travels with them and into checkpoints.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/model/memory.h"
#include "common/model/model_config.h"
#include "common/model/torso.h"

namespace colony {

struct StepOutput {
  torch::Tensor logits;  // [E, A]
  torch::Tensor values;  // [E]
};

struct UnrollOutput {
  torch::Tensor logits;  // [T, B, A], with gradients to the parameters
  torch::Tensor values;  // [T, B]
  Memory final_memory;   // the memory after step T-1 (no gradient), as Step would leave it
};

class Policy : public torch::nn::Module {
 public:
  explicit Policy(ModelConfig config);
  ~Policy() override = default;

  const ModelConfig& config() const { return config_; }

  // Empty memory for `batch` env columns, on the parameters' device and dtype:
  // [layers, M, batch, d_model] for the GTrXL, zero-sized for the MLP.
  Memory InitialMemory(std::int64_t batch) const;

  // Advances E envs by one step without recording gradients (actors); replaces `memory`'s
  // tensors with the advanced ones. Throws std::invalid_argument on mis-shaped input.
  StepOutput Step(const torch::Tensor& obs, const torch::Tensor& first, Memory& memory);

  // Runs T steps for B columns from `initial` (learners). Gradients reach the parameters but
  // never the initial memory. Throws std::invalid_argument on mis-shaped input.
  UnrollOutput Unroll(const torch::Tensor& obs, const torch::Tensor& first, const Memory& initial);

  // Memory from its wire form (Memory::Flatten rows), checked against this model's geometry.
  Memory MemoryFromFlat(const torch::Tensor& flat) const;
  std::int64_t memory_flat_size() const;

  // --- flat weights -------------------------------------------------------------------------
  torch::Tensor flat_parameters();  // [P]; writing into it changes the model
  torch::Tensor flat_gradients();   // [P]; zero until a backward pass, see ZeroGradients
  void ZeroGradients();             // zeroes flat_gradients() in place (keeps the views)
  std::int64_t parameter_count() const { return parameter_count_; }
  // (name, offset into the flat buffer, shape), in flat order.
  struct Slot {
    std::string name;
    std::int64_t offset;
    std::vector<std::int64_t> shape;
  };
  const std::vector<Slot>& layout() const { return layout_; }

  std::int64_t version() const { return version_; }
  void set_version(std::int64_t version) { version_ = version; }
  // Actor side: adopt a broadcast weight buffer. Throws std::invalid_argument unless `flat` is
  // 1-D with parameter_count() floating-point elements.
  void LoadFlat(const torch::Tensor& flat, std::int64_t version);

  // --- observation statistics (ModelConfig::normalize_obs; no-op without it) ----------------
  // Moves the running mean and variance toward one batch's per-dimension mean and (central)
  // variance, weighting the batch by max(1 / (batches so far + 1), min_rate): the plain average
  // of the first 1 / min_rate batches, an exponential one after. The variance is the mixture's,
  // spread of the means included. Changes the weights (they travel with them).
  void UpdateObsStats(const torch::Tensor& batch_mean, const torch::Tensor& batch_var,
                      double min_rate);
  // How many batches the statistics have seen (0 without normalize_obs).
  std::int64_t obs_stats_batches() const;

  // --- checkpoints --------------------------------------------------------------------------
  // Parameters by name, plus metadata colony.config (JSON), colony.version and
  // colony.flat_order (parameter names in flat-buffer order, comma-separated).
  void SaveSafetensors(const std::string& path) const;
  // Throws ModelFileError (common/model/safetensors.h) naming the file, the tensor and expected
  // vs got for a missing or extra name, wrong shape or dtype, truncated data or a corrupt
  // header; the model is untouched unless the whole file is good. Sets version() from the file.
  void LoadSafetensors(const std::string& path);

  // Re-flattening on the new device or dtype (Module::to replaces every parameter's storage).
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Device device, bool non_blocking = false) override;

 protected:
  // Subclasses run the network; inputs are already checked. obs [T, B, EncoderInputWidth()]
  // float on the parameters' device (EncoderInput's output), not the raw rows.
  virtual UnrollOutput Forward(const torch::Tensor& obs, const torch::Tensor& first,
                               const Memory& initial) = 0;
  // A subclass's faster step mode for its current weights, if it has one: fills *out, advances
  // `memory` and returns true; false (the default) runs Forward with T = 1. Inputs are checked.
  virtual bool StepFast(const torch::Tensor& /*obs*/, const torch::Tensor& /*first*/,
                        Memory& /*memory*/, StepOutput* /*out*/) {
    return false;
  }
  // Subclasses call this once, at the end of their constructor, after registering everything.
  void FlattenParameters();
  // A tag that changes whenever the weights may have changed (an in-place update of any
  // parameter or of the flat buffer, LoadFlat, LoadSafetensors, set_version, to()), unique across
  // policies; Memory::cache is reused only under the same tag. Writes by raw pointer into
  // flat_parameters() are invisible to it until set_version() is called, as actors do.
  std::int64_t WeightsGeneration();

 private:
  void CheckInputs(const torch::Tensor& obs, const torch::Tensor& first, const Memory& memory,
                   int64_t time_dims) const;
  // Rebinds any parameter or gradient that no longer views the flat buffers.
  void RepairViews();
  // What the subclass networks read: the rows as float on the parameters' device, scaled and
  // through the torso for byte observations. [..., obs_dim] -> [..., EncoderInputWidth()].
  torch::Tensor EncoderInput(const torch::Tensor& obs);

  ModelConfig config_;
  ImpalaCnn torso_{nullptr};  // image observations only
  // normalize_obs only: [obs_dim] running mean and variance, [1] batches seen (as a float).
  torch::Tensor obs_mean_, obs_var_, obs_count_;
  std::int64_t version_ = 0;
  std::int64_t parameter_count_ = 0;
  std::vector<Slot> layout_;
  std::vector<torch::Tensor> params_;  // in layout_ order
  torch::Tensor flat_params_;
  torch::Tensor flat_grads_;
  std::int64_t seen_fingerprint_ = -1;  // sum of version counters behind generation_
  std::int64_t generation_ = -1;
};

// Builds the network `config` names (after config.Validate()); weights freshly initialised.
std::shared_ptr<Policy> MakePolicy(const ModelConfig& config);

}  // namespace colony
