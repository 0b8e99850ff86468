// ShapeText: a tensor's shape as text for error messages, "[33, 8, 4]", the one form every
// "expected [T, B, 4], got [T, B, 5]" message in Colony uses. Free of LibTorch: pass
// `tensor.sizes()` (an IntArrayRef is a contiguous range of int64) or a std::vector<int64_t>.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace colony {

std::string ShapeText(std::span<const std::int64_t> shape);
inline std::string ShapeText(std::initializer_list<std::int64_t> shape) {
  return ShapeText(std::span<const std::int64_t>(shape.begin(), shape.size()));
}

}  // namespace colony
