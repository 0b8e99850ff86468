// Small helpers shared by the model tests.
#pragma once

#include <torch/torch.h>

namespace colony {

// The largest absolute difference between two tensors of the same shape, in float64.
inline double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace colony
