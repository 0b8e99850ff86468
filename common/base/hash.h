// Fnv1a: the 64-bit FNV-1a hash of a byte string. Colony uses it as a checksum — of a
// checkpoint's contents (learner/checkpoint.cc) and of the weights learners must hold
// bit-for-bit alike (learner/learner_runtime.cc) — never where an adversary picks the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace colony {

inline std::uint64_t Fnv1a(const void* data, std::size_t size) {
  constexpr std::uint64_t kOffsetBasis = 1469598103934665603ULL;
  constexpr std::uint64_t kPrime = 1099511628211ULL;
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::uint64_t hash = kOffsetBasis;
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * kPrime;
  return hash;
}

inline std::uint64_t Fnv1a(std::string_view bytes) { return Fnv1a(bytes.data(), bytes.size()); }

}  // namespace colony
