// The GTrXL's fast step mode (actors, float32 on the CPU): the same numbers as
// GtrxlPolicy's Forward with T = 1, without its per-step copies and per-op dispatch.
//
// In: obs [E, obs_dim], first [E] and a Memory, from Policy::Step. Out: logits and values, and
// the Memory advanced in place, in the layout memory.h documents.
//
// How it differs from the reference, and why the results do not:
//   * Ring buffers (StepRing, in Memory::ring): hidden rows live in [layers, 2C, E, d] storage
//     with C = M + 1, each row written twice (at slot s and s + C), so the last C rows are
//     always one contiguous window and Memory::hidden is a view of it: no [layers, M, E, d] copy
//     per step. Beside it, attention keeps the memory rows layer-normed, per env one contiguous
//     block (step_kernel.h): a key is W_k n and a value W_v n of a normed row n, so attention
//     works on n directly ((W_k^T q) . n for a score, W_v (sum a n) for the output) and a step
//     normalises only the new row. Half the bytes of cached keys and values: at E = 256 and the
//     default M = 64 the cache (8 MB) stays in L3. A reset zeroes the env's hidden rows, as the
//     reference does.
//   * The normed rows depend on the weights (the layer norm's). They are tagged with Policy's
//     weights generation and recomputed from the hidden rows whenever it changes, exactly what
//     the reference computes from memory with the current weights.
//   * Memory::hidden handed out is a view into the ring. The next step writes into the ring in
//     place only if nobody else can see it (the view is still the one handed out, unchanged,
//     and held only by this Memory); otherwise it copies the memory into a fresh ring first.
//     So Memory keeps value semantics: copies (Clone, Select, even a plain struct copy) never
//     change under a later step of the original.
//   * Matrix products go to LibTorch's BLAS (at::mm_out on preallocated buffers, weights packed
//     per generation: the query, each gate as two products); everything between them, attention
//     included, is step_kernel.h's fused loops.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/model/memory.h"
#include "common/model/model_config.h"
#include "common/model/policy.h"

namespace colony {

class GtrxlStepper {
 public:
  explicit GtrxlStepper(const ModelConfig& config) : config_(config) {}

  // Whether the fast step can serve a model whose parameters look like `parameter`.
  bool Supports(const torch::Tensor& parameter) const;

  // One step for E envs with `model`'s current weights (named as GtrxlPolicy names them);
  // `generation` is Policy::WeightsGeneration(). Inputs already checked by Policy::Step.
  StepOutput Step(torch::nn::Module& model, std::int64_t generation, const torch::Tensor& obs,
                  const torch::Tensor& first, Memory& memory);

 private:
  struct LayerWeights {
    torch::Tensor attn_norm_w, attn_norm_b, query_t, key, value, position, position_own;
    torch::Tensor content_bias, position_bias;
    torch::Tensor attn_out_t, attn_out_b, attn_gate_1, attn_gate_2, attn_gate_bias;
    torch::Tensor ff_norm_w, ff_norm_b, ff_in_t, ff_in_b, ff_out_t, ff_out_b;
    torch::Tensor ff_gate_1, ff_gate_2, ff_gate_bias;
  };
  void Pack(torch::nn::Module& model, std::int64_t generation);
  void Gate(std::int64_t envs, const torch::Tensor& gate_1, const torch::Tensor& gate_2,
            const torch::Tensor& bias, const torch::Tensor& x, const torch::Tensor& out,
            StepRing& ring);
  void RecomputeNormed(StepRing& ring);

  ModelConfig config_;
  std::int64_t packed_generation_ = -1;
  std::vector<LayerWeights> layers_;
  torch::Tensor embedding_t_, embedding_b_, final_norm_w_, final_norm_b_, heads_t_, heads_b_;
};

}  // namespace colony
