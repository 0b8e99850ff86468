// The CartPole-v1 reference episodes (tests/data/cartpole_reference.txt, recorded from the real
// Gymnasium by tests/data/make_cartpole_reference.py), read once for every test that replays
// them: the native kernel (cartpole_test), the Gymnasium bridge (python_env_test) and the C
// plugin (plugin_env_test). The test's target defines COLONY_TEST_DATA_DIR.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <bit>
#include <vector>

#include "common/env/env.h"

namespace colony::env::cartpole_reference {

struct RefStep {
  std::int64_t action = 0;
  std::vector<float> obs;
  double reward = 0;
  bool terminated = false;
  bool truncated = false;
  std::vector<double> state;
};

struct RefEpisode {
  std::string label;
  std::vector<double> start;
  std::vector<RefStep> steps;
};

// strtof/strtod read the shortest round-trip texts the generator wrote back to the exact
// values it had.
inline std::vector<RefEpisode> LoadReference() {
  const std::string path = std::string(COLONY_TEST_DATA_DIR) + "/cartpole_reference.txt";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<RefEpisode> episodes;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind;
    fields >> kind;
    std::string word;
    if (kind == "episode") {
      episodes.emplace_back();
      fields >> episodes.back().label;
    } else if (kind == "start") {
      while (fields >> word) episodes.back().start.push_back(std::strtod(word.c_str(), nullptr));
    } else if (kind == "step") {
      RefStep step;
      int terminated = 0;
      int truncated = 0;
      fields >> step.action;
      for (int i = 0; i < 4; ++i) {
        fields >> word;
        step.obs.push_back(std::strtof(word.c_str(), nullptr));
      }
      fields >> word >> terminated >> truncated;
      step.reward = std::strtod(word.c_str(), nullptr);
      step.terminated = terminated != 0;
      step.truncated = truncated != 0;
      while (fields >> word) step.state.push_back(std::strtod(word.c_str(), nullptr));
      EXPECT_EQ(step.state.size(), 4u) << line;
      episodes.back().steps.push_back(step);
    }
  }
  return episodes;
}

// Steps `got` and `want` (both already at `episode`'s start) with the episode's actions and
// asserts every observation bit for bit, reward and flag identical, counting the steps in
// *compared; wrap calls in ASSERT_NO_FATAL_FAILURE.
inline void ExpectSameSteps(Env& got, Env& want, const RefEpisode& episode,
                            std::int64_t* compared) {
  for (std::size_t t = 0; t < episode.steps.size(); ++t) {
    const Transition w = want.Step(episode.steps[t].action);
    const Transition g = got.Step(episode.steps[t].action);
    for (std::size_t i = 0; i < 4; ++i) {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(g.obs[i]), std::bit_cast<std::uint32_t>(w.obs[i]))
          << "step " << t << " obs[" << i << "]";
    }
    ASSERT_EQ(g.reward, w.reward);
    ASSERT_EQ(g.terminated, w.terminated) << "step " << t;
    ASSERT_EQ(g.truncated, w.truncated) << "step " << t;
    ++*compared;
  }
}

}  // namespace colony::env::cartpole_reference
