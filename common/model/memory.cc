// Memory helpers: empty memory, column selection and stacking, and the one-row-per-column float
// form the wire carries. See memory.h for the layout.
#include "common/model/memory.h"

#include <stdexcept>
#include <string>

#include "common/base/shape_text.h"

namespace colony {

Memory Memory::Empty(std::int64_t layers, std::int64_t length, std::int64_t batch,
                     std::int64_t width, const torch::TensorOptions& options) {
  return {torch::zeros({layers, length, batch, width}, options),
          torch::zeros({length, batch}, options.dtype(torch::kBool))};
}

Memory Memory::Select(const torch::Tensor& indices) const {
  return {hidden.index_select(2, indices), valid.index_select(1, indices)};
}

Memory Memory::Select(std::int64_t column) const {
  return {hidden.narrow(2, column, 1).clone(), valid.narrow(1, column, 1).clone()};
}

Memory Memory::Stack(const std::vector<Memory>& parts) {
  if (parts.empty()) throw std::invalid_argument("Memory::Stack: expected at least one part, got 0");
  std::vector<torch::Tensor> hiddens, valids;
  for (const Memory& part : parts) {
    if (part.layers() != parts[0].layers() || part.length() != parts[0].length() ||
        part.width() != parts[0].width()) {
      throw std::invalid_argument("Memory::Stack: expected every part shaped like " +
                                  ShapeText(parts[0].hidden.sizes()) + " up to batch, got " +
                                  ShapeText(part.hidden.sizes()));
    }
    hiddens.push_back(part.hidden);
    valids.push_back(part.valid);
  }
  return {torch::cat(hiddens, 2), torch::cat(valids, 1)};
}

std::int64_t Memory::FlatSize(std::int64_t layers, std::int64_t length, std::int64_t width) {
  return layers * length * width + length;
}

torch::Tensor Memory::Flatten() const {
  const int64_t b = batch();
  // [layers, M, B, d] -> [B, layers*M*d]: the column's own values stay together.
  torch::Tensor h = hidden.to(torch::kCPU, torch::kFloat32).permute({2, 0, 1, 3}).reshape({b, -1});
  torch::Tensor v = valid.to(torch::kCPU, torch::kFloat32).t();
  return torch::cat({h, v}, 1).contiguous();
}

Memory Memory::Unflatten(const torch::Tensor& flat, std::int64_t layers, std::int64_t length,
                         std::int64_t width) {
  const int64_t size = FlatSize(layers, length, width);
  if (flat.dim() != 2 || flat.size(1) != size) {
    throw std::invalid_argument("Memory::Unflatten: expected a [B, " + std::to_string(size) +
                                "] tensor (layers " + std::to_string(layers) + ", M " +
                                std::to_string(length) + ", d_model " + std::to_string(width) +
                                "), got " + ShapeText(flat.sizes()));
  }
  torch::Tensor f = flat.to(torch::kCPU, torch::kFloat32);
  const int64_t b = f.size(0);
  torch::Tensor v = f.narrow(1, size - length, length);
  if (!torch::logical_or(v == 0, v == 1).all().item<bool>()) {
    throw std::invalid_argument(
        "Memory::Unflatten: expected validity flags of exactly 0 or 1, got other values");
  }
  torch::Tensor h = f.narrow(1, 0, size - length)
                        .reshape({b, layers, length, width})
                        .permute({1, 2, 0, 3})
                        .contiguous();
  return {h, v.t().to(torch::kBool).contiguous()};
}

Memory Memory::To(const torch::TensorOptions& options) const {
  Memory moved{hidden.to(options), valid.to(options.device())};
  if (cache.defined() && moved.hidden.is_same(hidden)) {
    moved.cache = cache;
    moved.cache_generation = cache_generation;
    moved.ring = ring;
  }
  return moved;
}

}  // namespace colony
