// ModelConfig validation and its JSON form (the checkpoint metadata). See model_config.h.
#include "common/model/model_config.h"

#include <vector>

#include "common/base/json.h"

namespace colony {
namespace {

[[noreturn]] void Fail(const std::string& field, const std::string& expected, const std::string& got) {
  throw ModelConfigError("model config: " + field + ": expected " + expected + ", got " + got);
}

void CheckRange(const std::string& field, std::int64_t value, std::int64_t min, std::int64_t max) {
  if (value < min || value > max) {
    Fail(field, "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]",
         std::to_string(value));
  }
}

// The comma-separated counts in `text` from `from` on ("2,3,4"), each in [1, max]; empty if a
// part is anything else (empty, a sign, a space, more than 6 digits).
std::vector<std::int64_t> ParseCounts(const std::string& text, std::size_t from,
                                      std::int64_t max) {
  std::vector<std::int64_t> counts;
  while (true) {
    const std::size_t comma = text.find(',', from);
    const std::string part =
        text.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    if (part.empty() || part.size() > 6 ||
        part.find_first_not_of("0123456789") != std::string::npos) {
      return {};
    }
    const std::int64_t n = std::stoll(part);
    if (n < 1 || n > max) return {};
    counts.push_back(n);
    if (comma == std::string::npos) return counts;
    from = comma + 1;
  }
}

}  // namespace

void ModelConfig::Validate() const {
  if (kind != "gtrxl" && kind != "gru" && kind != "lstm" && kind != "mlp") {
    Fail("kind", "one of gtrxl|gru|lstm|mlp", "'" + kind + "'");
  }
  CheckRange("obs_dim", obs_dim, 1, kMaxObsDim);
  CheckRange("num_actions", num_actions, 1, kMaxNumActions);
  CheckRange("layers", layers, 1, kMaxLayers);
  CheckRange("d_model", d_model, 1, kMaxDModel);
  if (actions == "box") {
    if (num_actions % 2 != 0) {
      Fail("num_actions", "an even number with actions \"box\" (means and log-stds)",
           std::to_string(num_actions));
    }
  } else if (actions != "discrete") {
    std::int64_t sum = 0;
    for (const std::int64_t n : MultiDiscreteNvec()) sum += n;
    if (sum != num_actions) {
      Fail("actions", "multi_discrete components adding up to num_actions " +
                          std::to_string(num_actions), "'" + actions + "'");
    }
  }
  if (const std::vector<std::int64_t> image = ImageShape(); !image.empty()) {
    if (image[0] * image[1] * image[2] != obs_dim) {
      Fail("observations", "an image of obs_dim " + std::to_string(obs_dim) + " bytes (H x W x C)",
           "'" + observations + "'");
    }
  }
  if (normalize_obs && ObsBytes()) {
    Fail("normalize_obs", "false for byte observations (" + observations +
                              "; images are standardised per image by the torso)",
         "true");
  }
  if (kind != "gtrxl") return;  // heads, d_ff and memory mean nothing without attention
  CheckRange("heads", heads, 1, d_model);
  if (d_model % heads != 0) {
    Fail("heads", "a divisor of d_model " + std::to_string(d_model), std::to_string(heads));
  }
  CheckRange("d_ff", d_ff, 1, kMaxDFf);
  CheckRange("memory", memory, 1, kMaxMemory);
}

std::vector<std::int64_t> ModelConfig::MultiDiscreteNvec() const {
  static const std::string kPrefix = "multi_discrete:";
  const auto bad = [&] {
    Fail("actions", "discrete, box or multi_discrete:N1,N2,... (each N in [1, " +
                        std::to_string(kMaxNumActions) + "], their product below 2^62)",
         "'" + actions + "'");
  };
  if (actions.rfind(kPrefix, 0) != 0) {
    if (actions != "discrete" && actions != "box") bad();
    return {};
  }
  const std::vector<std::int64_t> nvec = ParseCounts(actions, kPrefix.size(), kMaxNumActions);
  double product = 1;
  for (const std::int64_t n : nvec) product *= static_cast<double>(n);
  if (nvec.empty() || product >= 4.6e18) bad();
  return nvec;
}

std::vector<std::int64_t> ModelConfig::ImageShape() const {
  static const std::string kPrefix = "image:";
  const auto bad = [&] {
    Fail("observations", "float32, uint8 or image:H,W,C (each in [1, 65536])",
         "'" + observations + "'");
  };
  if (observations.rfind(kPrefix, 0) != 0) {
    if (observations != "float32" && observations != "uint8") bad();
    return {};
  }
  const std::vector<std::int64_t> shape = ParseCounts(observations, kPrefix.size(), 65536);
  if (shape.size() != 3) bad();
  return shape;
}

std::int64_t ModelConfig::EncoderInputWidth() const {
  const std::vector<std::int64_t> image = ImageShape();
  return image.empty() ? obs_dim : kImageFeatures;
}

std::string ModelConfig::ToJson() const {
  return JsonObjectWriter()
      .Add("kind", kind)
      .Add("obs_dim", obs_dim)
      .Add("num_actions", num_actions)
      .Add("layers", layers)
      .Add("d_model", d_model)
      .Add("heads", heads)
      .Add("d_ff", d_ff)
      .Add("memory", memory)
      .Add("actions", actions)
      .Add("observations", observations)
      .Add("normalize_obs", normalize_obs)
      .Finish();
}

ModelConfig ModelConfig::FromJson(const std::string& text) {
  json::Document doc;
  try {
    doc = ParseJsonObject(text);
  } catch (const JsonError& error) {
    throw ModelConfigError(std::string("model config: ") + error.what());
  }
  ModelConfig config;
  const std::vector<std::pair<const char*, std::int64_t*>> ints = {
      {"obs_dim", &config.obs_dim}, {"num_actions", &config.num_actions},
      {"layers", &config.layers},   {"d_model", &config.d_model},
      {"heads", &config.heads},     {"d_ff", &config.d_ff},
      {"memory", &config.memory}};
  if (!doc.HasMember("kind") || !doc["kind"].IsString()) Fail("kind", "a string", "none");
  config.kind = doc["kind"].GetString();
  if (doc.HasMember("actions")) {  // absent before Box and MultiDiscrete actions: "discrete"
    if (!doc["actions"].IsString()) Fail("actions", "a string", "another JSON value");
    config.actions = doc["actions"].GetString();
  }
  if (doc.HasMember("observations")) {  // absent before uint8 observations: "float32"
    if (!doc["observations"].IsString()) Fail("observations", "a string", "another JSON value");
    config.observations = doc["observations"].GetString();
  }
  if (doc.HasMember("normalize_obs")) {  // absent before --normalize-obs: false
    if (!doc["normalize_obs"].IsBool()) {
      Fail("normalize_obs", "true or false", "another JSON value");
    }
    config.normalize_obs = doc["normalize_obs"].GetBool();
  }
  for (const auto& [name, value] : ints) {
    if (!doc.HasMember(name)) Fail(name, "an integer", "nothing (field missing)");
    if (!doc[name].IsInt64()) Fail(name, "an integer", "another JSON value");
    *value = doc[name].GetInt64();
  }
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string name = it->name.GetString();
    bool known = name == "kind" || name == "actions" || name == "observations" ||
                 name == "normalize_obs";
    for (const auto& entry : ints) known = known || name == entry.first;
    if (!known) Fail(name, "one of the ModelConfig fields", "an unknown field");
  }
  config.Validate();
  return config;
}

}  // namespace colony
