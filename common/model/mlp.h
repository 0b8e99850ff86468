// The memoryless baseline behind MakePolicy(kind "mlp"): the same interface as the GTrXL
// (policy.h), `layers` ReLU layers of width d_model under the policy and value heads, and an
// empty memory. It exists so that memory tasks show what the transformer buys.
#pragma once

#include <memory>

#include "common/model/model_config.h"
#include "common/model/policy.h"

namespace colony {

std::shared_ptr<Policy> MakeMlpPolicy(const ModelConfig& config);

}  // namespace colony
