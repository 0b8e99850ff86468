// `colony eval` (launch/eval.h): load, play N episodes in parallel envs, summarise.
#include "launch/eval.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "actors/actor.h"  // StepWithActions
#include "common/base/flags.h"
#include "common/base/json.h"
#include "common/env/registry.h"
#include "common/env/rng.h"
#include "common/model/action_dist.h"
#include "common/model/policy.h"
#include "common/model/safetensors.h"
#include "learner/checkpoint.h"

namespace colony {
namespace {

constexpr int kMaxParallelEnvs = 16;

struct Loaded {
  std::shared_ptr<Policy> policy;
  std::string env;  // from the checkpoint's config, or ""
};

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Throws CheckpointError or ModelFileError naming the file.
Loaded Load(const std::string& path) {
  Loaded loaded;
  std::string weights = path;
  if (!EndsWith(path, ".safetensors")) {
    const CheckpointCounters state = ReadCheckpointState(path);  // checks both checksums
    try {
      const json::Document config = ParseJsonObject(state.config_json);
      if (config.HasMember("env") && config["env"].IsString()) {
        loaded.env = config["env"].GetString();
      }
    } catch (const JsonError&) {
      // No environment recorded: --env must name one.
    }
    weights = path + "/weights.safetensors";
  }
  const SafetensorsContents contents = ReadSafetensors(weights);
  const auto it = contents.metadata.find("colony.config");
  if (it == contents.metadata.end()) {
    throw ModelFileError(weights + ": no colony.config metadata (not written by Colony)");
  }
  ModelConfig model;
  try {
    model = ModelConfig::FromJson(it->second);
    model.Validate();
  } catch (const std::exception& error) {
    throw ModelFileError(weights + ": colony.config: " + error.what());
  }
  loaded.policy = MakePolicy(model);
  loaded.policy->LoadSafetensors(weights);
  return loaded;
}

struct Summary {
  double mean = 0;
  double std = 0;
};

Summary Summarise(const std::vector<double>& values) {
  Summary s;
  if (values.empty()) return s;
  for (const double v : values) s.mean += v;
  s.mean /= static_cast<double>(values.size());
  for (const double v : values) s.std += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(values.size()));  // population std
  return s;
}

}  // namespace

int RunEvalCommand(int argc, char** argv) {
  std::string checkpoint;
  std::string env_name;
  std::int64_t episodes = 100;
  std::int64_t seed = 1;
  bool greedy = false;
  Flags flags("colony eval --checkpoint PATH [--env NAME] [--episodes N] [--seed S] [--greedy]");
  flags.Add("checkpoint", &checkpoint,
            "checkpoint directory (RUN_DIR/checkpoints/ckpt-...) or a .safetensors file");
  flags.Add("env", &env_name, "environment; default: the one the checkpoint was trained on");
  flags.Add("episodes", &episodes, "episodes to play", 1, 10'000'000);
  flags.Add("seed", &seed, "seed of the environments and of action sampling", 0,
            std::numeric_limits<std::int64_t>::max());
  flags.Add("greedy", &greedy, "take the most likely action instead of sampling");
  const auto positional = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return 0;
  }
  if (!positional.empty()) {
    throw FlagError("unexpected argument '" + positional.front() + "' (flags start with --)");
  }
  if (checkpoint.empty()) throw FlagError("--checkpoint: expected a checkpoint path, got ''");

  torch::set_num_threads(1);
  Loaded loaded;
  try {
    loaded = Load(checkpoint);
  } catch (const std::exception& error) {  // CheckpointError, ModelFileError
    std::fprintf(stderr, "colony eval: %s\n", error.what());
    return 2;
  }
  if (env_name.empty()) env_name = loaded.env;
  if (env_name.empty()) {
    throw FlagError("--env: required with a .safetensors file (it does not name its environment)");
  }
  const int num_envs = static_cast<int>(std::min<std::int64_t>(episodes, kMaxParallelEnvs));
  std::unique_ptr<env::BatchEnv> env;
  try {
    env = env::MakeBatchEnv(env_name, num_envs);
  } catch (const env::EnvError& error) {
    throw FlagError(std::string("--env: ") + error.what());
  }
  Policy& policy = *loaded.policy;
  const env::EnvSpec& spec = env->spec();
  const env::PolicyShape shape = env::PolicyShapeOf(spec);
  const ModelConfig& model = policy.config();
  if (shape.obs_dim != model.obs_dim || shape.outputs != model.num_actions ||
      shape.actions != model.actions || shape.observations != model.observations) {
    std::fprintf(stderr, "colony eval: %s: the model takes %lld observations (%s) and has %lld "
                 "action outputs (%s); %s needs %lld (%s) and %lld (%s: %s)\n", checkpoint.c_str(),
                 static_cast<long long>(model.obs_dim), model.observations.c_str(),
                 static_cast<long long>(model.num_actions), model.actions.c_str(),
                 spec.name.c_str(), static_cast<long long>(shape.obs_dim),
                 shape.observations.c_str(), static_cast<long long>(shape.outputs),
                 env::ActionSpaceText(spec).c_str(), shape.actions.c_str());
    return 2;
  }
  const ActionDist dist(model);
  std::vector<float> box_actions;

  // Env i plays episodes i, i + E, i + 2E, ... < N: a fixed share each, so short episodes
  // finishing first do not bias the sample.
  const auto useed = static_cast<std::uint64_t>(seed);
  torch::Generator generator = at::detail::createCPUGenerator(
      env::DeriveEnvSeed(useed, /*rank=*/0, /*index=*/~0ULL));
  torch::Tensor obs = torch::zeros({num_envs, spec.obs_dim});
  torch::Tensor first = torch::ones({num_envs}, torch::kBool);
  std::vector<float> rewards(static_cast<std::size_t>(num_envs));
  std::vector<std::uint8_t> terminated(static_cast<std::size_t>(num_envs));
  std::vector<std::uint8_t> truncated(static_cast<std::size_t>(num_envs));
  std::vector<std::int64_t> next_episode(static_cast<std::size_t>(num_envs));
  std::vector<double> running_return(static_cast<std::size_t>(num_envs), 0.0);
  std::vector<double> running_length(static_cast<std::size_t>(num_envs), 0.0);
  std::vector<double> returns, lengths;
  float* obs_data = obs.data_ptr<float>();
  for (int i = 0; i < num_envs; ++i) {
    env->Seed(i, env::DeriveEnvSeed(useed, /*rank=*/0, static_cast<std::uint64_t>(i)));
    env->Reset(i, obs_data + i * spec.obs_dim);
    next_episode[static_cast<std::size_t>(i)] = i;
  }
  Memory memory = policy.InitialMemory(num_envs);
  torch::NoGradGuard no_grad;
  while (static_cast<std::int64_t>(returns.size()) < episodes) {
    const StepOutput step = policy.Step(obs, first, memory);
    const torch::Tensor actions =
        greedy ? dist.Greedy(step.logits) : dist.Sample(step.logits, generator);
    StepWithActions(*env, dist, actions, box_actions, obs_data, rewards.data(), terminated.data(),
                    truncated.data());
    first.zero_();
    bool* first_data = first.data_ptr<bool>();
    for (int i = 0; i < num_envs; ++i) {
      const auto k = static_cast<std::size_t>(i);
      running_return[k] += rewards[k];
      running_length[k] += 1;
      if (!terminated[k] && !truncated[k]) continue;
      if (!env->StepFaulted(i)) {  // a fault dropped the episode: this env plays it again
        if (next_episode[k] < episodes) {
          returns.push_back(running_return[k]);
          lengths.push_back(running_length[k]);
        }
        next_episode[k] += num_envs;
      }
      running_return[k] = 0;
      running_length[k] = 0;
      env->Reset(i, obs_data + i * spec.obs_dim);
      first_data[i] = true;
    }
  }

  const Summary ret = Summarise(returns);
  const Summary len = Summarise(lengths);
  std::printf("colony eval: %s on %s, %lld episodes, seed %lld, %s\n", checkpoint.c_str(),
              spec.name.c_str(), static_cast<long long>(episodes), static_cast<long long>(seed),
              greedy ? "greedy" : "sampled actions");
  std::printf("return  mean %.4f  std %.4f\nlength  mean %.4f  std %.4f\n", ret.mean, ret.std,
              len.mean, len.std);
  const std::string summary = JsonObjectWriter()
                                  .Add("env", spec.name)
                                  .Add("episodes", episodes)
                                  .Add("seed", seed)
                                  .Add("greedy", greedy)
                                  .Add("return_mean", ret.mean)
                                  .Add("return_std", ret.std)
                                  .Add("length_mean", len.mean)
                                  .Add("length_std", len.std)
                                  .Finish();
  std::printf("%s\n", summary.c_str());
  return 0;
}

}  // namespace colony
