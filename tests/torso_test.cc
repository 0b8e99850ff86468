// Byte observations and the image torso (ModelConfig::observations, common/model/torso.h):
//   * step mode on float rows of 0..255 (what actors step) and unroll mode on the same rows as
//     uint8 (what the learner's batch holds) agree to 1e-5, with resets inside the unroll, for the
//     GTrXL and the MLP;
//   * an image is standardised on its own (any scale reads alike); flat bytes are read x 1/255:
//     a "uint8" model equals a "float32" one fed rows / 255;
//   * the torso's parameters are in the flat buffers, get gradients, and round-trip through
//     safetensors; weights for another observation kind are refused;
//   * the config names what is wrong with a bad observations text.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/base/files.h"
#include "common/model/gtrxl.h"
#include "common/model/policy.h"
#include "common/model/safetensors.h"
#include "tests/tensor_test_util.h"

namespace colony {
namespace {

ModelConfig Image(const std::string& kind, std::int64_t h, std::int64_t w, std::int64_t c) {
  ModelConfig config;
  config.kind = kind;
  config.obs_dim = h * w * c;
  config.observations =
      "image:" + std::to_string(h) + "," + std::to_string(w) + "," + std::to_string(c);
  config.num_actions = 3;
  config.d_model = 16;
  config.heads = 4;
  config.d_ff = 32;
  config.memory = 4;
  return config;
}

// T steps of B columns on float rows, then one unroll of the same rows as uint8.
void ExpectBytesAgree(Policy& policy) {
  const std::int64_t t = 6, b = 3;
  torch::manual_seed(3);
  const torch::Tensor bytes = torch::randint(0, 256, {t, b, policy.config().obs_dim}, torch::kUInt8);
  torch::Tensor first = torch::zeros({t, b}, torch::kBool);
  first[0].fill_(true);
  first[2][1] = true;
  first[5][2] = true;
  Memory memory = policy.InitialMemory(b);
  const Memory initial = memory.Clone();
  std::vector<torch::Tensor> logits, values;
  for (std::int64_t i = 0; i < t; ++i) {
    const StepOutput s = policy.Step(bytes[i].to(torch::kFloat32), first[i], memory);
    logits.push_back(s.logits);
    values.push_back(s.values);
  }
  const UnrollOutput u = policy.Unroll(bytes, first, initial);
  EXPECT_LE(MaxAbsDiff(u.logits, torch::stack(logits)), 1e-5);
  EXPECT_LE(MaxAbsDiff(u.values, torch::stack(values)), 1e-5);
  // The steps differ from each other: the torso is not reading a constant.
  EXPECT_GT(MaxAbsDiff(values[0], values[1]), 1e-6);
}

TEST(ImageTorso, StepOnFloatRowsAndUnrollOnBytesAgree) {
  for (const std::string kind : {"gtrxl", "mlp"}) {
    for (const auto& hwc : std::vector<std::vector<std::int64_t>>{{7, 7, 3}, {5, 8, 2}, {3, 2, 1}}) {
      SCOPED_TRACE(kind + " image " + std::to_string(hwc[0]) + "x" + std::to_string(hwc[1]) +
                   "x" + std::to_string(hwc[2]));
      auto policy = MakePolicy(Image(kind, hwc[0], hwc[1], hwc[2]));
      ExpectBytesAgree(*policy);
    }
  }
}

// Each image is standardised on its own: MiniGrid's codes (0..10) and the same picture at pixel
// scale read alike.
TEST(ImageTorso, ReadsAnImageTheSameAtAnyScale) {
  auto policy = MakePolicy(Image("gtrxl", 7, 7, 3));
  const torch::Tensor codes = torch::randint(0, 11, {4, 147}).to(torch::kFloat32);
  const torch::Tensor first = torch::ones({4}, torch::kBool);
  Memory m1 = policy->InitialMemory(4), m2 = policy->InitialMemory(4);
  const StepOutput a = policy->Step(codes, first, m1);
  const StepOutput b = policy->Step(codes * 23, first, m2);  // at most 230
  EXPECT_LE(MaxAbsDiff(a.logits, b.logits), 1e-5);
  EXPECT_LE(MaxAbsDiff(a.values, b.values), 1e-5);
}

TEST(ByteObservations, AreReadAsBytesOver255) {
  ModelConfig bytes_config = Image("gtrxl", 1, 1, 6);
  bytes_config.observations = "uint8";
  ModelConfig float_config = bytes_config;
  float_config.observations = "float32";
  auto bytes = MakePolicy(bytes_config);
  auto floats = MakePolicy(float_config);
  ASSERT_EQ(bytes->parameter_count(), floats->parameter_count());  // no torso for flat bytes
  floats->LoadFlat(bytes->flat_parameters(), 0);
  const torch::Tensor rows = torch::randint(0, 256, {4, 6}, torch::kUInt8);
  const torch::Tensor first = torch::ones({4}, torch::kBool);
  Memory m1 = bytes->InitialMemory(4), m2 = floats->InitialMemory(4);
  const StepOutput a = bytes->Step(rows, first, m1);
  const StepOutput b = floats->Step(rows.to(torch::kFloat32) / 255.0, first, m2);
  EXPECT_LE(MaxAbsDiff(a.logits, b.logits), 1e-6);
  EXPECT_LE(MaxAbsDiff(a.values, b.values), 1e-6);
  // A float32 model refuses uint8 rows, naming what it takes.
  try {
    floats->Step(rows, first, m2);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("expected a floating-point tensor shaped [E, 6], got "
                                         "[4, 6] Byte"),
              std::string::npos)
        << e.what();
  }
}

TEST(ImageTorso, IsInTheFlatBuffersGetsGradientsAndRoundTripsThroughSafetensors) {
  const ModelConfig config = Image("gtrxl", 7, 7, 3);
  auto policy = MakePolicy(config);
  ModelConfig plain = config;
  plain.observations = "float32";
  plain.obs_dim = ModelConfig::kImageFeatures;  // the same network behind the torso
  const std::int64_t torso = policy->parameter_count() - GtrxlParameterCount(plain);
  // IMPALA's ResNet on 7x7x3: convolutions 3->16, 16->32, 32->32 (each 3x3 with bias), four 3x3
  // convolutions per stage in the residual blocks, then 32 x 1 x 1 -> 256.
  const std::int64_t convs = (9 * 3 * 16 + 16) + 4 * (9 * 16 * 16 + 16) + (9 * 16 * 32 + 32) +
                             4 * (9 * 32 * 32 + 32) + (9 * 32 * 32 + 32) + 4 * (9 * 32 * 32 + 32);
  EXPECT_EQ(torso, convs + 32 * 256 + 256);
  EXPECT_EQ(policy->layout().front().name.rfind("torso.", 0), 0u) << policy->layout().front().name;

  torch::manual_seed(5);
  const torch::Tensor bytes = torch::randint(0, 256, {4, 2, 147}, torch::kUInt8);
  const torch::Tensor first = torch::zeros({4, 2}, torch::kBool);
  policy->ZeroGradients();
  const UnrollOutput u = policy->Unroll(bytes, first, policy->InitialMemory(2));
  (u.logits.sum() + u.values.sum()).backward();
  const torch::Tensor torso_grads = policy->flat_gradients().narrow(0, 0, torso);
  EXPECT_GT(torso_grads.abs().sum().item<double>(), 0.0);

  const std::string path = TempPath("colony_torso_test.safetensors");
  policy->set_version(9);
  policy->SaveSafetensors(path);
  auto loaded = MakePolicy(config);
  loaded->LoadSafetensors(path);
  EXPECT_TRUE(torch::equal(loaded->flat_parameters(), policy->flat_parameters()));
  EXPECT_EQ(loaded->version(), 9);
  const UnrollOutput again = loaded->Unroll(bytes, first, loaded->InitialMemory(2));
  EXPECT_LE(MaxAbsDiff(again.logits, u.logits), 0.0);

  // An 8x8x3 image pools to the same 1x1 as 7x7x3: every tensor has the same shape, so only the
  // recorded config tells the two apart, and the file is refused by it.
  ModelConfig other = config;
  other.observations = "image:8,8,3";
  other.obs_dim = 192;
  auto larger = MakePolicy(other);
  ASSERT_EQ(larger->parameter_count(), policy->parameter_count());
  try {
    larger->LoadSafetensors(path);
    FAIL() << "expected ModelFileError";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("expected observations image:8,8,3 (this model), got "
                                         "image:7,7,3"),
              std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());
}

TEST(ModelConfig, ObservationsTextIsCheckedAndRoundTrips) {
  ModelConfig c = Image("gtrxl", 7, 7, 3);
  EXPECT_EQ(ModelConfig::FromJson(c.ToJson()), c);
  EXPECT_EQ(c.ImageShape(), (std::vector<std::int64_t>{7, 7, 3}));
  EXPECT_EQ(c.EncoderInputWidth(), ModelConfig::kImageFeatures);
  const auto error = [&](const std::string& observations, std::int64_t obs_dim) {
    ModelConfig bad = c;
    bad.observations = observations;
    bad.obs_dim = obs_dim;
    try {
      bad.Validate();
    } catch (const ModelConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("image:7,7", 49),
            "model config: observations: expected float32, uint8 or image:H,W,C (each in "
            "[1, 65536]), got 'image:7,7'");
  EXPECT_EQ(error("rgb", 4),
            "model config: observations: expected float32, uint8 or image:H,W,C (each in "
            "[1, 65536]), got 'rgb'");
  EXPECT_EQ(error("image:7,7,3", 100),
            "model config: observations: expected an image of obs_dim 100 bytes (H x W x C), got "
            "'image:7,7,3'");
  EXPECT_EQ(error("uint8", 100), "no error");
  // Checkpoints written before byte observations have no such key: float32.
  std::string old_json = ModelConfig{}.ToJson();
  const std::size_t at = old_json.find(",\"observations\"");
  ASSERT_NE(at, std::string::npos) << old_json;
  old_json.erase(at, old_json.find('}', at) - at);
  EXPECT_EQ(ModelConfig::FromJson(old_json).observations, "float32");
}

}  // namespace
}  // namespace colony
