// The recurrent baselines behind MakePolicy(kind "gru" or "lstm"): the same encoder and heads
// as the GTrXL (a linear embedding, a final layer norm, policy and value heads), with `layers`
// stacked GRU or LSTM cells of width d_model in place of the transformer blocks.
//
// The recurrent state travels in the Memory slot the GTrXL uses (memory.h), so actors, the wire
// and the learner need nothing new: hidden [layers, S, B, d_model] with S = 1 (GRU: h) or S = 2
// (LSTM: h, then c), and valid [S, B] saying whether the state belongs to the column's current
// episode (an invalid state reads as zeros). A trajectory ships the state the actor held before
// its first step (R2D2's stored state), and the learner unrolls from it. A first flag zeroes the
// column's state before that step, in both modes, so nothing crosses an episode boundary.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/model/model_config.h"
#include "common/model/policy.h"

namespace colony {

std::shared_ptr<Policy> MakeRecurrentPolicy(const ModelConfig& config);

// Rows of recurrent state per layer: 1 for "gru", 2 for "lstm" (h and c).
std::int64_t RecurrentStateRows(const std::string& kind);

// Parameters of a recurrent policy with this config, by formula (tests compare it with the real
// count): embedding, per layer GRU 3 (2 d^2 + 2 d) or LSTM 4 (2 d^2 + 2 d), final norm, heads.
std::int64_t RecurrentParameterCount(const ModelConfig& config);

}  // namespace colony
