// The random numbers of every environment: a small generator whose output is fixed by this
// file alone, so that a run seed gives the same episodes with any compiler or standard library
// (std::uniform_*_distribution is implementation-defined and is never used here).
//
// In: a run seed, an actor rank and an env index (DeriveEnvSeed), or any 64-bit seed.
// Out: 64-bit words, doubles uniform in [lo, hi), standard normals and unbiased integers in
// [0, n).
// The generator is SplitMix64 (Steele, Lea and Flood 2014): one 64-bit word of state, a
// Weyl-sequence increment and a 3-round mix. Environments draw only on reset, so its speed
// matters little; what matters is that it is tiny, seedable from any word and fully specified.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace colony::env {

// The SplitMix64 output function: a bijective 64-bit mix with good avalanche.
constexpr std::uint64_t Mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The seed of env `index` on actor `rank` of a run seeded with `run_seed`. Each coordinate is
// folded in through a full mix, so neighbouring ranks or indices get unrelated streams, and
// (seed, rank, index) triples that differ anywhere give different seeds with overwhelming
// probability.
constexpr std::uint64_t DeriveEnvSeed(std::uint64_t run_seed, std::uint64_t rank,
                                      std::uint64_t index) {
  constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  std::uint64_t h = Mix64(run_seed + kGolden);
  h = Mix64(h ^ (rank + 2 * kGolden));
  h = Mix64(h ^ (index + 3 * kGolden));
  return h;
}

class Rng {
 public:
  constexpr explicit Rng(std::uint64_t seed = 0) : state_(seed) {}

  constexpr std::uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Mix64(state_);
  }

  // Uniform in [0, 1) with 53 random bits: every double k * 2^-53 is equally likely.
  constexpr double NextUnit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform in [lo, hi), computed as lo + (hi - lo) * u like numpy's Generator.uniform.
  constexpr double Uniform(double lo, double hi) { return lo + (hi - lo) * NextUnit(); }

  // Standard normal, by Box-Muller from two uniforms (the first in (0, 1], so log is finite);
  // one value per call (the second of the pair is dropped so the stream stays stateless).
  double Normal() {
    const double u1 = 1.0 - NextUnit();
    const double u2 = NextUnit();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  // Unbiased integer in [0, n) for n >= 1: Lemire's multiply-shift with rejection of the
  // short final interval, so no value is favoured.
  constexpr std::uint32_t Below(std::uint32_t n) {
    const std::uint32_t threshold = static_cast<std::uint32_t>(-n) % n;
    while (true) {
      const std::uint64_t product = (Next() >> 32) * n;
      if (static_cast<std::uint32_t>(product) >= threshold) {
        return static_cast<std::uint32_t>(product >> 32);
      }
    }
  }

  constexpr std::uint64_t state() const { return state_; }

 private:
  std::uint64_t state_;
};

}  // namespace colony::env
