// Writes a tiny GTrXL checkpoint whose flat parameters are a known function of their index, for
// tests/check_safetensors.py to read back with Python's `safetensors` (CTest
// safetensors_python_check). Usage: safetensors_writer FILE
#include <torch/torch.h>

#include <exception>
#include <iostream>

#include "common/model/policy.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: safetensors_writer FILE\n";
    return 2;
  }
  try {
    colony::ModelConfig config;
    config.obs_dim = 3;
    config.num_actions = 5;
    config.layers = 2;
    config.d_model = 8;
    config.heads = 2;
    config.d_ff = 12;
    config.memory = 4;
    auto policy = colony::MakePolicy(config);
    // Element i of the flat buffer holds (i mod 997) / 100: exact in float32 to 1e-7, and every
    // misplaced byte shows.
    policy->LoadFlat(torch::arange(policy->parameter_count(), torch::kFloat64).fmod(997) / 100.0,
                     /*version=*/7);
    policy->SaveSafetensors(argv[1]);
    std::cout << "wrote " << policy->parameter_count() << " parameters to " << argv[1] << "\n";
  } catch (const std::exception& e) {
    std::cerr << "safetensors_writer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
