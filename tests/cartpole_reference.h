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
#include <vector>

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

}  // namespace colony::env::cartpole_reference
