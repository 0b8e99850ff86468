// Vector helpers shared by the model's hand-written loops (step_kernel.cc, attention_kernel.cc):
// sixteen-float vectors in GCC's generic vector types, dot products of rows, a vectorisable
// exp. Internal to those files (no LibTorch): include it only from a .cc built with the
// kernels' options (common/model/CMakeLists.txt).
//
// Functions meant to be vectorised are cloned per ISA (COLONY_VECTOR_CLONES: AVX-512, AVX2+FMA
// and a portable fallback, picked at load time by CPU features: ISA levels x86-64-v4 and v3,
// not CPU models such as "haswell", which AMD parts never match); everything here is forced
// inline into them, so each clone compiles it for its own ISA.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define COLONY_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define COLONY_VECTOR_CLONES
#endif
#define COLONY_INLINE inline __attribute__((always_inline))

// Every function taking or returning V16 is inlined into its caller, so the ABI GCC warns about
// (how a 64-byte vector is passed without AVX-512) never applies; the files including this one
// are built with -Wno-psabi (common/model/CMakeLists.txt).

namespace colony::vector16 {

// exp(x) to ~2 ulp for x in [-87, 88] (clamped outside), Cephes' expf: x = k ln2 + r with
// |r| <= ln2/2, a degree-6 polynomial for e^r, 2^k built in the exponent bits. Plain arithmetic
// and an integer conversion, so loops calling it vectorise (libm's expf would not, here).
COLONY_INLINE float ExpApprox(float x) {
  x = x < -87.0f ? -87.0f : x;  // value selects, not std::min's references: they vectorise
  x = x > 88.0f ? 88.0f : x;
  // Round x / ln2 to nearest by adding and removing 1.5 * 2^23 (exact in float arithmetic).
  const float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(k) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

// Sixteen floats in GCC's generic vectors: one AVX-512 register, two AVX2 ones or four SSE
// ones, as each clone of the calling function is compiled. Loads and stores through memcpy
// (unaligned; rows are not 64-byte aligned in general).
typedef float V16 __attribute__((vector_size(64)));
typedef int I16 __attribute__((vector_size(64)));
constexpr int kLanes = 16;

COLONY_INLINE V16 Load(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
COLONY_INLINE void Store(float* p, V16 v) { std::memcpy(p, &v, sizeof v); }
COLONY_INLINE V16 Splat(float x) { return V16{} + x; }

// Lane k of the result is the sum of p[k]'s sixteen lanes: a transpose folded into the sums
// (pairs of half-vectors added, four times over), so sixteen dot products cost one vector of
// results instead of sixteen horizontal sums.
COLONY_INLINE V16 SumLanes(const V16 p[kLanes]) {
  V16 q[8], r[4], s[2];
  for (int k = 0; k < 8; ++k) {
    q[k] = __builtin_shuffle(p[2 * k], p[2 * k + 1],
                             I16{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23}) +
           __builtin_shuffle(p[2 * k], p[2 * k + 1],
                             I16{8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31});
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = __builtin_shuffle(q[2 * k], q[2 * k + 1],
                             I16{0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27}) +
           __builtin_shuffle(q[2 * k], q[2 * k + 1],
                             I16{4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31});
  }
  for (int k = 0; k < 2; ++k) {
    s[k] = __builtin_shuffle(r[2 * k], r[2 * k + 1],
                             I16{0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29}) +
           __builtin_shuffle(r[2 * k], r[2 * k + 1],
                             I16{2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31});
  }
  return __builtin_shuffle(s[0], s[1],
                           I16{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30}) +
         __builtin_shuffle(s[0], s[1],
                           I16{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31});
}

COLONY_INLINE float Total(V16 v) {
  float t = 0.0f;
  for (int i = 0; i < kLanes; ++i) t += v[i];
  return t;
}

// Row widths: kChunks vectors of 16 floats (d = 16 kChunks), or 0 for any d (plain loops).
template <int kChunks>
struct Row {
  COLONY_INLINE static float Dot(const float* a, const float* b, std::int64_t) {
    V16 acc = Load(a) * Load(b);
    for (int c = 1; c < kChunks; ++c) acc += Load(a + c * kLanes) * Load(b + c * kLanes);
    return Total(acc);
  }
  // out[j] = a . rows[j], j < 16, rows `stride` floats apart.
  COLONY_INLINE static V16 Dot16(const float* a, const float* rows, std::int64_t stride,
                                 std::int64_t) {
    V16 av[kChunks];
    for (int c = 0; c < kChunks; ++c) av[c] = Load(a + c * kLanes);
    V16 part[kLanes];
    for (int j = 0; j < kLanes; ++j) {
      const float* row = rows + j * stride;
      V16 acc = av[0] * Load(row);
      for (int c = 1; c < kChunks; ++c) acc += av[c] * Load(row + c * kLanes);
      part[j] = acc;
    }
    return SumLanes(part);
  }
  // out = sum_i weight[i] rows[i] over `count` rows (zero weights skipped) + first_weight first.
  COLONY_INLINE static void WeightedSum(const float* weight, const float* rows, std::int64_t count,
                                        float first_weight, const float* first, std::int64_t,
                                        float* out) {
    V16 acc[kChunks];
    for (int c = 0; c < kChunks; ++c) acc[c] = first_weight * Load(first + c * kLanes);
    for (std::int64_t i = 0; i < count; ++i) {
      if (weight[i] == 0.0f) continue;
      const V16 wi = Splat(weight[i]);
      const float* row = rows + i * kChunks * kLanes;
      for (int c = 0; c < kChunks; ++c) acc[c] += wi * Load(row + c * kLanes);
    }
    for (int c = 0; c < kChunks; ++c) Store(out + c * kLanes, acc[c]);
  }
  // out = sum_i x[i] rows[i] over `count` rows.
  COLONY_INLINE static void Combine(const float* x, const float* rows, std::int64_t count,
                                    std::int64_t, float* out) {
    V16 acc[kChunks] = {};
    for (std::int64_t i = 0; i < count; ++i) {
      const V16 xi = Splat(x[i]);
      for (int c = 0; c < kChunks; ++c)
        acc[c] += xi * Load(rows + i * kChunks * kLanes + c * kLanes);
    }
    for (int c = 0; c < kChunks; ++c) Store(out + c * kLanes, acc[c]);
  }
};

template <>
struct Row<0> {
  COLONY_INLINE static float Dot(const float* a, const float* b, std::int64_t d) {
    float t = 0.0f;
    for (std::int64_t i = 0; i < d; ++i) t += a[i] * b[i];
    return t;
  }
  COLONY_INLINE static V16 Dot16(const float* a, const float* rows, std::int64_t stride,
                                 std::int64_t d) {
    V16 out;
    for (int j = 0; j < kLanes; ++j) out[j] = Dot(a, rows + j * stride, d);
    return out;
  }
  COLONY_INLINE static void WeightedSum(const float* weight, const float* rows, std::int64_t count,
                                        float first_weight, const float* first, std::int64_t d,
                                        float* out) {
    for (std::int64_t j = 0; j < d; ++j) out[j] = first_weight * first[j];
    for (std::int64_t i = 0; i < count; ++i) {
      if (weight[i] == 0.0f) continue;
      for (std::int64_t j = 0; j < d; ++j) out[j] += weight[i] * rows[i * d + j];
    }
  }
  COLONY_INLINE static void Combine(const float* x, const float* rows, std::int64_t count,
                                    std::int64_t d, float* out) {
    std::fill(out, out + d, 0.0f);
    for (std::int64_t i = 0; i < count; ++i) {
      for (std::int64_t j = 0; j < d; ++j) out[j] += x[i] * rows[i * d + j];
    }
  }
};

// y += s x over a row of 16 kChunks floats.
template <int kChunks>
COLONY_INLINE void Axpy(float s, const float* x, float* y) {
  const V16 sv = Splat(s);
  for (int c = 0; c < kChunks; ++c)
    Store(y + c * kLanes, Load(y + c * kLanes) + sv * Load(x + c * kLanes));
}

// A row of 16 kChunks floats held in registers while it accumulates.
template <int kChunks>
struct RowAccumulator {
  V16 v[kChunks] = {};
  COLONY_INLINE void Add(float s, const float* x) {
    const V16 sv = Splat(s);
    for (int c = 0; c < kChunks; ++c) v[c] += sv * Load(x + c * kLanes);
  }
  COLONY_INLINE void StoreTo(float* y) const {
    for (int c = 0; c < kChunks; ++c) Store(y + c * kLanes, v[c]);
  }
};

}  // namespace colony::vector16
