// ModelConfig: the shape of a policy network (which kind, how wide, how deep, how much memory).
//
// In: fields set by flags or read back from a checkpoint's metadata (FromJson).
// Out: a validated description that MakePolicy (common/model/policy.h) turns into a network, and
// the JSON that SaveSafetensors writes into a checkpoint so a reader knows what produced it.
// Free of LibTorch on purpose: flag parsing and wire code include it without paying for torch.
//
// Default: a 2-layer GTrXL, d_model 64, 4 heads, d_ff 256, memory 64, for a 4-dimensional
// observation and 2 actions (CartPole); 207,235 parameters (docs/model.md shows the sum).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace colony {

// A bad configuration value; the message names the field, what was given and what is allowed.
class ModelConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct ModelConfig {
  // The ranges Validate accepts. The upper bounds only catch typos (an extra zero or two);
  // nothing depends on them. The --layers, --d-model, --heads, --d-ff and --memory flags use the
  // same numbers (common/config/train_config.cc), so a flag never accepts what Validate refuses.
  static constexpr std::int64_t kMaxObsDim = 1 << 20;
  static constexpr std::int64_t kMaxNumActions = 1 << 16;
  static constexpr std::int64_t kMaxLayers = 64;
  static constexpr std::int64_t kMaxDModel = 1 << 14;
  static constexpr std::int64_t kMaxHeads = kMaxDModel;  // and at most d_model, dividing it
  static constexpr std::int64_t kMaxDFf = 1 << 16;
  static constexpr std::int64_t kMaxMemory = 1 << 14;
  // The image torso's output width (common/model/torso.h), what the encoder reads from it.
  static constexpr std::int64_t kImageFeatures = 256;

  // "gtrxl" (transformer with memory), "gru" or "lstm" (recurrent baselines, recurrent.h) or
  // "mlp" (memoryless baseline).
  std::string kind = "gtrxl";
  std::int64_t obs_dim = 4;    // length of one flat float observation
  std::int64_t num_actions = 2;
  std::int64_t layers = 2;     // transformer blocks (gtrxl), cells (gru, lstm), hidden layers (mlp)
  std::int64_t d_model = 64;   // residual width (gtrxl), state width (gru, lstm), hidden (mlp)
  std::int64_t heads = 4;      // attention heads; must divide d_model (gtrxl only)
  std::int64_t d_ff = 256;     // feed-forward inner width (gtrxl only)
  std::int64_t memory = 64;    // M: hidden states kept per layer; attention sees M steps back
  // What the policy head's num_actions outputs mean (common/model/action_dist.h): "discrete" (one
  // categorical), "multi_discrete:N1,N2,..." (one categorical per component; the N add up to
  // num_actions) or "box" (a diagonal Gaussian: num_actions = 2 x the action's length). Set from
  // the environment, like obs_dim and num_actions; absent from older checkpoints: "discrete".
  std::string actions = "discrete";
  // What an observation row holds and how the network reads it: "float32" (obs_dim floats into
  // the linear encoder), "uint8" (obs_dim bytes 0..255, scaled by 1/255 into the same encoder)
  // or "image:H,W,C" (an H x W x C uint8 image, row-major, standardised per image and read by the
  // IMPALA ResNet torso, common/model/torso.h, whose features the encoder then takes). uint8 rows
  // travel as uint8 on the wire and in the learner's batch. Set from the environment; absent
  // from older checkpoints: "float32".
  std::string observations = "float32";
  // Float observations only: each dimension is standardised by a running mean and variance before
  // the network reads it, (x - mean) / sqrt(var + 1e-8) clipped to +-kObsClip. The statistics are
  // parameters of the policy (obs_mean, obs_var, obs_count: first in the flat buffer), kept by the
  // learner from the observations it trains on, so they travel to the actors with the weights
  // and into checkpoints; the optimiser never moves them (they get no gradient). Absent from
  // older checkpoints: false.
  bool normalize_obs = false;
  static constexpr double kObsClip = 10.0;

  // Throws ModelConfigError on the first bad field, e.g.
  // "model config: heads: expected a divisor of d_model 64, got 5".
  void Validate() const;
  // The N of "multi_discrete:N1,N2,..." (empty for the other kinds); after Validate().
  std::vector<std::int64_t> MultiDiscreteNvec() const;
  // {H, W, C} of "image:H,W,C" (empty for the other kinds); after Validate().
  std::vector<std::int64_t> ImageShape() const;
  // Whether observation rows hold bytes ("uint8" or "image:..."): uint8 on the wire, x 1/255 in.
  bool ObsBytes() const { return observations != "float32"; }
  // The width of what the encoder reads: obs_dim, or the image torso's feature width.
  std::int64_t EncoderInputWidth() const;

  // One-line JSON object with every field; FromJson(ToJson()) == *this.
  std::string ToJson() const;
  // Throws ModelConfigError on malformed JSON, a missing field or a field of the wrong type,
  // then validates. Unknown fields are an error too: they would mean a newer writer.
  static ModelConfig FromJson(const std::string& json);

  bool operator==(const ModelConfig&) const = default;
};

}  // namespace colony
