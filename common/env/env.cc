// BatchEnv's shared parts and the one-env view Env; see env.h for the contracts.
#include "common/env/env.h"

#include <cctype>
#include <utility>

#include "common/base/check.h"

namespace colony::env {

BatchEnv::BatchEnv(EnvSpec spec, int num_envs)
    : spec_(std::move(spec)), num_envs_(num_envs), rngs_(static_cast<std::size_t>(num_envs)) {
  COLONY_CHECK(num_envs >= 1) << "num_envs " << num_envs;
  COLONY_CHECK(spec_.obs_dim >= 1 && spec_.num_actions >= 1 && spec_.max_episode_steps >= 0)
      << spec_.name;
}

void BatchEnv::SetState(int, std::span<const double>, float*) {
  throw EnvError(spec_.name + " has no physical state to set");
}

std::vector<double> BatchEnv::GetState(int) const { return {}; }

void CheckAction(const EnvSpec& spec, std::int64_t action) {
  if (action < 0 || action >= spec.num_actions) {
    throw EnvError(spec.name + ": action: expected an integer in [0, " +
                   std::to_string(spec.num_actions) + "), got " + std::to_string(action));
  }
}

Env::Env(std::unique_ptr<BatchEnv> core) : core_(std::move(core)) {
  COLONY_CHECK(core_ != nullptr && core_->num_envs() == 1);
}

std::vector<float> Env::Reset(std::optional<std::uint64_t> seed) {
  if (seed.has_value()) core_->Seed(0, *seed);
  std::vector<float> obs(static_cast<std::size_t>(spec().obs_dim));
  core_->Reset(0, obs.data());
  running_ = true;
  return obs;
}

Transition Env::Step(std::int64_t action) {
  CheckAction(spec(), action);
  if (!running_) {
    throw EnvError(spec().name + ": step called with no episode running; expected Reset or " +
                   "SetState after the episode ended, got another step");
  }
  Transition out;
  out.obs.resize(static_cast<std::size_t>(spec().obs_dim));
  std::uint8_t terminated = 0;
  std::uint8_t truncated = 0;
  core_->Step(&action, /*auto_reset=*/false, out.obs.data(), &out.reward, &terminated,
              &truncated);
  out.terminated = terminated != 0;
  out.truncated = truncated != 0;
  running_ = !(out.terminated || out.truncated);
  return out;
}

std::vector<float> Env::SetState(std::span<const double> state) {
  const auto expected = spec().state_names.size();
  if (expected != 0 && state.size() != expected) {
    std::string names;
    for (const auto& name : spec().state_names) names += (names.empty() ? "" : ",") + name;
    throw EnvError(spec().name + ": state: expected " + std::to_string(expected) +
                   " values (" + names + "), got " + std::to_string(state.size()));
  }
  std::vector<float> obs(static_cast<std::size_t>(spec().obs_dim));
  core_->SetState(0, state, obs.data());
  running_ = true;
  return obs;
}

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

std::string::size_type ParamsColon(const std::string& text, std::string::size_type from) {
  for (auto colon = text.find(':', from); colon != std::string::npos;
       colon = text.find(':', colon + 1)) {
    auto end = colon + 1;
    while (end < text.size() && IsIdentifierChar(text[end])) ++end;
    if (end > colon + 1 && end < text.size() && text[end] == '=') return colon;
  }
  return std::string::npos;
}

}  // namespace colony::env
