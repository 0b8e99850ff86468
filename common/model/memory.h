// Memory: the Transformer-XL memory a policy carries from one step to the next, per env column.
//
// In: made empty by Policy::InitialMemory, advanced by Policy::Step (actors), handed to
// Policy::Unroll (learners). Out: one env column is copied out with Select and shipped over the
// wire as one float row (Flatten); the learner rebuilds columns (Unflatten) and stacks B of them
// (Stack) into the initial memory of an unroll batch.
//
// Layout, the same for every policy kind:
//   hidden [layers, M, B, d_model] float: the input of each block at each of the last M steps.
//          Slot M-1 is the most recent step, slot 0 the oldest. Invalid slots hold zeros.
//   valid  [M, B] bool: slot m of column b holds a step of the episode that column is in now.
//          A reset clears the whole column, so memory never spans two episodes.
// The MLP has M = 0 and d_model = 0 here (tensors with zero elements), so the same code ships
// and stacks it without special cases.
//
// Step mode also leaves a cache in the memory it advances: the keys and values of the memory
// slots, so the next step projects only the new row instead of all M (about 3x fewer flops at
// the default size). It is derived data, valid only for the weights that made it (the policy
// tags it and recomputes when its weights changed); copies (Select, Stack, Clone, Flatten) drop
// it, so it never travels and a copy simply takes one uncached step. The GTrXL's fast step
// (gtrxl_step.h, float32 on the CPU) keeps hidden rows and their layer-normed copies (what keys
// and values are made from) in `ring` instead, with `hidden` a view into it; the layout above,
// and everything shipped, stays the same.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace colony {

struct StepRing;  // gtrxl_step.cc

struct Memory {
  torch::Tensor hidden;  // [layers, M, B, d_model]
  torch::Tensor valid;   // [M, B] bool
  torch::Tensor cache;   // optional [layers, M, B, 2 * d_model]: keys and values of the slots
  std::int64_t cache_generation = -1;  // which weights made `cache` (Policy's internal tag)
  // The GTrXL's fast step (gtrxl_step.h) keeps hidden rows and their normed copies in ring
  // buffers here instead; `hidden` is then a view into the ring, and `cache` its normed rows.
  // Dropped by copies like `cache`; a step writes into the ring only while no copy can see it.
  std::shared_ptr<StepRing> ring;

  std::int64_t layers() const { return hidden.size(0); }
  std::int64_t length() const { return hidden.size(1); }  // M
  std::int64_t batch() const { return hidden.size(2); }
  std::int64_t width() const { return hidden.size(3); }   // d_model

  // All-invalid memory of the given geometry, on `options`' device and dtype.
  static Memory Empty(std::int64_t layers, std::int64_t length, std::int64_t batch,
                      std::int64_t width, const torch::TensorOptions& options);

  // The columns named by `indices` (1-D int64), as a copy that owns its storage.
  Memory Select(const torch::Tensor& indices) const;
  Memory Select(std::int64_t column) const;
  // Concatenates columns; all parts must share layers, M and d_model (else std::invalid_argument).
  static Memory Stack(const std::vector<Memory>& parts);

  // Floats per column on the wire: layers*M*d_model hidden values, then M validity flags (0/1).
  static std::int64_t FlatSize(std::int64_t layers, std::int64_t length, std::int64_t width);
  // [B, FlatSize] float32, one row per column (contiguous, on the CPU).
  torch::Tensor Flatten() const;
  // Inverse of Flatten, as float32 on the CPU. Throws std::invalid_argument naming what is wrong
  // when `flat` is not [B, FlatSize] or a validity flag is not exactly 0 or 1.
  static Memory Unflatten(const torch::Tensor& flat, std::int64_t layers, std::int64_t length,
                          std::int64_t width);

  Memory Clone() const { return {hidden.clone(), valid.clone()}; }
  // Keeps the cache when nothing moves (the common case: same device and dtype).
  Memory To(const torch::TensorOptions& options) const;
};

}  // namespace colony
