// BatchEnv's shared parts and the one-env view Env; see env.h for the contracts.
#include "common/env/env.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>
#include <utility>

#include "common/base/check.h"

namespace colony::env {

BatchEnv::BatchEnv(EnvSpec spec, int num_envs)
    : spec_(std::move(spec)), num_envs_(num_envs), rngs_(static_cast<std::size_t>(num_envs)) {
  COLONY_CHECK(num_envs >= 1) << "num_envs " << num_envs;
  COLONY_CHECK(spec_.obs_dim >= 1 && (spec_.num_actions >= 1) != (spec_.action_dim >= 1) &&
               spec_.max_episode_steps >= 0)
      << spec_.name;
  COLONY_CHECK(spec_.action_low.size() == static_cast<std::size_t>(spec_.action_dim) &&
               spec_.action_high.size() == spec_.action_low.size())
      << spec_.name << ": one low and one high bound per Box action dimension";
}

void BatchEnv::StepBox(const float*, bool, float*, float*, std::uint8_t*, std::uint8_t*) {
  throw EnvError(spec_.name + " takes integer actions (" + ActionSpaceText(spec_) +
                 "), not Box actions");
}

PolicyShape PolicyShapeOf(const EnvSpec& spec) {
  PolicyShape shape{spec.obs_dim, spec.num_actions, "discrete", "float32"};
  if (spec.obs_uint8) {
    const std::vector<std::int64_t>& s = spec.obs_shape;
    if (s.size() == 3 || s.size() == 2) {
      shape.observations = "image:" + std::to_string(s[0]) + "," + std::to_string(s[1]) + "," +
                           std::to_string(s.size() == 3 ? s[2] : 1);
    } else {
      shape.observations = "uint8";
    }
  }
  if (spec.action_dim > 0) {
    shape.outputs = 2 * spec.action_dim;
    shape.actions = "box";
  } else if (!spec.action_nvec.empty()) {
    shape.outputs = 0;
    shape.actions = "multi_discrete:";
    for (std::size_t k = 0; k < spec.action_nvec.size(); ++k) {
      shape.outputs += spec.action_nvec[k];
      shape.actions += (k ? "," : "") + std::to_string(spec.action_nvec[k]);
    }
  }
  return shape;
}

std::string ActionSpaceText(const EnvSpec& spec) {
  std::ostringstream out;
  if (spec.action_dim > 0) {
    const auto bound = [&](const std::vector<float>& v) {
      const bool same = std::all_of(v.begin(), v.end(), [&](float x) { return x == v[0]; });
      std::ostringstream b;
      if (same) {
        b << v[0];
      } else {
        b << "[";
        for (std::size_t j = 0; j < v.size(); ++j) b << (j ? " " : "") << v[j];
        b << "]";
      }
      return b.str();
    };
    out << "Box(" << bound(spec.action_low) << ", " << bound(spec.action_high) << ", ("
        << spec.action_dim << ",))";
  } else if (!spec.action_nvec.empty()) {
    out << "MultiDiscrete([";
    for (std::size_t k = 0; k < spec.action_nvec.size(); ++k) {
      out << (k ? " " : "") << spec.action_nvec[k];
    }
    out << "])";
  } else {
    out << "Discrete(" << spec.num_actions << ")";
  }
  return out.str();
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

void CheckBoxAction(const EnvSpec& spec, std::span<const float> action) {
  if (spec.action_dim == 0) {
    throw EnvError(spec.name + " takes integer actions (" + ActionSpaceText(spec) +
                   "), not Box actions");
  }
  if (action.size() != static_cast<std::size_t>(spec.action_dim)) {
    throw EnvError(spec.name + ": action: expected " + std::to_string(spec.action_dim) +
                   " values (" + ActionSpaceText(spec) + "), got " +
                   std::to_string(action.size()));
  }
  for (std::size_t j = 0; j < action.size(); ++j) {
    if (!std::isfinite(action[j]) || action[j] < spec.action_low[j] ||
        action[j] > spec.action_high[j]) {
      std::ostringstream message;
      message << spec.name << ": action dimension " << j << ": expected a finite value in ["
              << spec.action_low[j] << ", " << spec.action_high[j] << "], got " << action[j];
      throw EnvError(message.str());
    }
  }
}

void Env::ExpectRunning() const {
  if (!running_) {
    throw EnvError(spec().name + ": step called with no episode running; expected Reset or " +
                   "SetState after the episode ended, got another step");
  }
}

Transition Env::Finish(Transition out, std::uint8_t terminated, std::uint8_t truncated) {
  out.terminated = terminated != 0;
  out.truncated = truncated != 0;
  running_ = !(out.terminated || out.truncated);
  return out;
}

Transition Env::Step(std::int64_t action) {
  CheckAction(spec(), action);
  ExpectRunning();
  Transition out;
  out.obs.resize(static_cast<std::size_t>(spec().obs_dim));
  std::uint8_t terminated = 0;
  std::uint8_t truncated = 0;
  core_->Step(&action, /*auto_reset=*/false, out.obs.data(), &out.reward, &terminated,
              &truncated);
  return Finish(std::move(out), terminated, truncated);
}

Transition Env::StepBox(std::span<const float> action) {
  CheckBoxAction(spec(), action);
  ExpectRunning();
  Transition out;
  out.obs.resize(static_cast<std::size_t>(spec().obs_dim));
  std::uint8_t terminated = 0;
  std::uint8_t truncated = 0;
  core_->StepBox(action.data(), /*auto_reset=*/false, out.obs.data(), &out.reward, &terminated,
                 &truncated);
  return Finish(std::move(out), terminated, truncated);
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
