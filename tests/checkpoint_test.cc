// Checkpoints (learner/checkpoint.h):
//   * a round trip restores weights, version, optimiser state, counters and the CPU RNG into a
//     fresh policy and optimiser, and a step after the load matches a step without the break;
//   * a truncated or corrupted state.bin, a missing or corrupted weights file and a model of
//     another shape each give a CheckpointError naming the file, and change nothing;
//   * a format-1 state.bin (no return statistic) is still read, a newer format is refused;
//   * FindResumeCheckpoint skips a corrupted newest checkpoint and returns the previous one;
//   * only the newest --keep-checkpoints survive.
#include "learner/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>

#include "common/base/files.h"
#include "common/base/hash.h"
#include "common/config/train_config.h"
#include "common/model/policy.h"
#include "learner/optimizer.h"

namespace colony {
namespace {

ModelConfig SmallModel(std::int64_t d_model = 16) {
  ModelConfig config;
  config.kind = "gtrxl";
  config.obs_dim = 4;
  config.num_actions = 2;
  config.layers = 1;
  config.d_model = d_model;
  config.heads = 2;
  config.d_ff = 32;
  config.memory = 4;
  return config;
}

// A policy and an Adam optimiser with some state: a few steps on a made-up loss.
struct Trained {
  std::shared_ptr<Policy> policy;
  std::unique_ptr<Optimizer> optimizer;
};

Trained MakeTrained(const ModelConfig& model, int steps) {
  Trained t;
  t.policy = MakePolicy(model);
  t.optimizer = std::make_unique<Optimizer>(t.policy->parameters(), OptimizerConfig{}, 100000);
  for (int i = 0; i < steps; ++i) {
    t.optimizer->ZeroGrad();
    const torch::Tensor obs = torch::randn({3, 2, model.obs_dim});
    const torch::Tensor first = torch::zeros({3, 2}, torch::kBool);
    const auto out = t.policy->Unroll(obs, first, t.policy->InitialMemory(2));
    (out.logits.pow(2).sum() + out.values.pow(2).sum()).backward();
    t.optimizer->Step(/*frames=*/1000 * i);
    t.policy->set_version(t.policy->version() + 1);
  }
  return t;
}

std::string FreshRunDir(const std::string& name) {
  const std::string dir = TempPath("colony_ckpt_" + name);
  RemoveTree(dir);
  MakeDirectories(dir);
  return dir;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

CheckpointCounters Counters(std::int64_t frames) {
  TrainConfig config;
  return {frames, frames / 100, frames / 100, config.ToJson(), /*return_mean_square=*/2.25};
}

// Runs `load` and expects a CheckpointError whose message contains `file` and `reason`.
template <class F>
void ExpectCheckpointError(F load, const std::string& file, const std::string& reason) {
  try {
    load();
    FAIL() << "no CheckpointError for " << file;
  } catch (const CheckpointError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(file), std::string::npos) << message;
    EXPECT_NE(message.find(reason), std::string::npos) << message;
  }
}

TEST(Checkpoint, RoundTripRestoresEverything) {
  const std::string run = FreshRunDir("roundtrip");
  Trained a = MakeTrained(SmallModel(), 3);
  torch::manual_seed(77);
  const std::string dir = SaveCheckpoint(run, *a.policy, *a.optimizer, Counters(12345), 3);
  EXPECT_EQ(dir, run + "/checkpoints/ckpt-000000012345");
  const torch::Tensor draw_after_save = torch::rand({4});

  torch::manual_seed(1);  // a different RNG state, restored by the load
  Trained b = MakeTrained(SmallModel(), 0);
  const CheckpointCounters counters = LoadCheckpoint(dir, *b.policy, *b.optimizer);
  EXPECT_EQ(counters.frames, 12345);
  EXPECT_EQ(counters.learner_steps, 123);
  EXPECT_EQ(counters.config_json, TrainConfig().ToJson());
  EXPECT_EQ(counters.return_mean_square, 2.25);
  EXPECT_EQ(b.policy->version(), 123);
  EXPECT_TRUE(torch::equal(a.policy->flat_parameters(), b.policy->flat_parameters()));
  EXPECT_TRUE(torch::equal(torch::rand({4}), draw_after_save));

  // Same optimiser state: one more identical step keeps the weights identical.
  torch::manual_seed(5);
  Trained* both[] = {&a, &b};
  for (Trained* t : both) {
    t->optimizer->ZeroGrad();
    const auto out = t->policy->Unroll(torch::ones({2, 1, 4}), torch::zeros({2, 1}, torch::kBool),
                                       t->policy->InitialMemory(1));
    out.values.sum().backward();
    t->optimizer->Step(/*frames=*/12345);
  }
  EXPECT_TRUE(torch::equal(a.policy->flat_parameters(), b.policy->flat_parameters()));
}

// Format 1 (before the return statistic was added at the payload's end) is still read: the
// statistic comes back as NaN (a fresh one), everything else as saved. A format from the future
// is refused by name.
TEST(Checkpoint, FormatOneIsStillRead) {
  const std::string run = FreshRunDir("format1");
  Trained a = MakeTrained(SmallModel(), 2);
  const std::string dir = SaveCheckpoint(run, *a.policy, *a.optimizer, Counters(500), 3);
  const std::string state = dir + "/state.bin";
  const std::string bytes = ReadFile(state);
  auto rewrite = [&](std::uint32_t format, std::size_t drop) {
    const std::string payload = bytes.substr(32, bytes.size() - 32 - drop);
    std::string header = bytes.substr(0, 32);
    const std::uint64_t size = payload.size();
    const std::uint64_t checksum = Fnv1a(payload);
    std::memcpy(header.data() + 8, &format, sizeof(format));
    std::memcpy(header.data() + 16, &size, sizeof(size));
    std::memcpy(header.data() + 24, &checksum, sizeof(checksum));
    WriteFile(state, header + payload);
  };
  rewrite(/*format=*/1, /*drop=*/sizeof(double));  // the double is the payload's last 8 bytes
  Trained b = MakeTrained(SmallModel(), 0);
  const CheckpointCounters counters = LoadCheckpoint(dir, *b.policy, *b.optimizer);
  EXPECT_EQ(counters.frames, 500);
  EXPECT_TRUE(std::isnan(counters.return_mean_square));
  EXPECT_TRUE(torch::equal(a.policy->flat_parameters(), b.policy->flat_parameters()));
  rewrite(/*format=*/kCheckpointFormatVersion + 1, /*drop=*/0);
  ExpectCheckpointError([&] { LoadCheckpoint(dir, *b.policy, *b.optimizer); }, state,
                        "format version 3, expected 1 to 2");
}

TEST(Checkpoint, DamagedFilesNameTheFileAndChangeNothing) {
  const std::string run = FreshRunDir("damaged");
  Trained a = MakeTrained(SmallModel(), 2);
  const std::string dir = SaveCheckpoint(run, *a.policy, *a.optimizer, Counters(100), 3);
  const std::string state = dir + "/state.bin";
  const std::string weights = dir + "/weights.safetensors";
  const std::string good_state = ReadFile(state);
  const std::string good_weights = ReadFile(weights);

  Trained b = MakeTrained(SmallModel(), 1);
  const torch::Tensor before = b.policy->flat_parameters().clone();
  auto load = [&] { LoadCheckpoint(dir, *b.policy, *b.optimizer); };

  WriteFile(state, good_state.substr(0, good_state.size() / 2));
  ExpectCheckpointError(load, state, "truncated");
  WriteFile(state, good_state.substr(0, 10));
  ExpectCheckpointError(load, state, "truncated");
  std::string flipped = good_state;
  flipped[flipped.size() - 7] ^= 0x10;
  WriteFile(state, flipped);
  ExpectCheckpointError(load, state, "checksum mismatch");
  WriteFile(state, good_state);

  std::string bad_weights = good_weights;
  bad_weights[bad_weights.size() - 3] ^= 0x01;
  WriteFile(weights, bad_weights);
  ExpectCheckpointError(load, weights, "checksum mismatch");
  std::remove(weights.c_str());
  ExpectCheckpointError(load, weights, "cannot open");
  WriteFile(weights, good_weights);
  ExpectCheckpointError([&] { LoadCheckpoint(run + "/nowhere", *b.policy, *b.optimizer); },
                        run + "/nowhere", "not a checkpoint directory");

  Trained wide = MakeTrained(SmallModel(/*d_model=*/32), 0);
  ExpectCheckpointError([&] { LoadCheckpoint(dir, *wide.policy, *wide.optimizer); }, weights,
                        "");
  EXPECT_TRUE(torch::equal(before, b.policy->flat_parameters()));

  LoadCheckpoint(dir, *b.policy, *b.optimizer);  // the restored files are good again
  EXPECT_TRUE(torch::equal(a.policy->flat_parameters(), b.policy->flat_parameters()));
}

TEST(Checkpoint, ResumeSkipsCorruptedNewestAndPruningKeepsK) {
  const std::string run = FreshRunDir("resume");
  Trained a = MakeTrained(SmallModel(), 1);
  for (std::int64_t frames : {100, 200, 300, 400}) {
    SaveCheckpoint(run, *a.policy, *a.optimizer, Counters(frames), /*keep=*/3);
  }
  const auto all = ListCheckpoints(run);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], CheckpointPath(run, 400));
  EXPECT_EQ(all[2], CheckpointPath(run, 200));
  EXPECT_EQ(FindResumeCheckpoint(run), CheckpointPath(run, 400));

  const std::string newest_state = CheckpointPath(run, 400) + "/state.bin";
  const std::string bytes = ReadFile(newest_state);
  WriteFile(newest_state, bytes.substr(0, bytes.size() - 1));
  testing::internal::CaptureStderr();
  EXPECT_EQ(FindResumeCheckpoint(run), CheckpointPath(run, 300));
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("skipping " + CheckpointPath(run, 400)), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  // The damaged checkpoint stays on disk (never lose saved data) for a person to look at.
  EXPECT_EQ(ListCheckpoints(run).size(), 3u);

  ExpectCheckpointError([&] { FindResumeCheckpoint(run + "/empty"); }, run + "/empty",
                        "no usable checkpoint");
}

}  // namespace
}  // namespace colony
