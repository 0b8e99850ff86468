// Loops of the fast GTrXL step; see step_kernel.h. Built with -O3 (common/model/CMakeLists.txt)
// and, on x86-64, cloned for AVX-512 and AVX2+FMA machines with a portable fallback, picked at
// load time by CPU features (ISA levels x86-64-v4 and v3; not CPU models such as "haswell",
// which AMD parts never match): the project builds for plain x86-64, and these loops are where
// vector width pays.
#include "common/model/step_kernel.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define COLONY_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define COLONY_VECTOR_CLONES
#endif
// Helpers of a cloned function are forced inline so that each clone compiles them for its ISA.
#define COLONY_INLINE inline __attribute__((always_inline))

namespace colony::step_kernel {
namespace {

// exp(x) to ~2 ulp for x in [-87, 88] (clamped outside), Cephes' expf: x = k ln2 + r with
// |r| <= ln2/2, a degree-6 polynomial for e^r, 2^k built in the exponent bits. Plain arithmetic
// and an integer conversion, so loops calling it vectorise (libm's expf would not, here).
inline float ExpApprox(float x) {
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

inline float Sigmoid(float x) { return 1.0f / (1.0f + ExpApprox(-x)); }
// 1 - 2 / (1 + e^2x): saturates cleanly at +-1; absolute error ~1e-7 near 0.
inline float Tanh(float x) { return 1.0f - 2.0f / (1.0f + ExpApprox(2.0f * x)); }

}  // namespace

COLONY_VECTOR_CLONES
void LayerNorm(std::int64_t rows, std::int64_t width, const float* in, const float* gamma,
               const float* beta, float* out) {
  constexpr int kLanes = 8;  // partial sums the compiler keeps in one vector register
  const std::int64_t body = width - width % kLanes;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* x = in + r * width;
    float* y = out + r * width;
    float acc[kLanes] = {};
    for (std::int64_t j = 0; j < body; j += kLanes) {
      for (int l = 0; l < kLanes; ++l) acc[l] += x[j + l];
    }
    float sum = 0.0f;
    for (int l = 0; l < kLanes; ++l) sum += acc[l];
    for (std::int64_t j = body; j < width; ++j) sum += x[j];
    const float mean = sum / static_cast<float>(width);
    float sq[kLanes] = {};
    for (std::int64_t j = 0; j < body; j += kLanes) {
      for (int l = 0; l < kLanes; ++l) sq[l] += (x[j + l] - mean) * (x[j + l] - mean);
    }
    float var = 0.0f;
    for (int l = 0; l < kLanes; ++l) var += sq[l];
    for (std::int64_t j = body; j < width; ++j) var += (x[j] - mean) * (x[j] - mean);
    const float rstd = 1.0f / std::sqrt(var / static_cast<float>(width) + 1e-5f);
    for (std::int64_t j = 0; j < width; ++j) y[j] = (x[j] - mean) * rstd * gamma[j] + beta[j];
  }
}

COLONY_VECTOR_CLONES
void ReluThenConcat(std::int64_t rows, std::int64_t d, const float* y, const float* x, float* cat) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* c = cat + r * 2 * d;
    for (std::int64_t j = 0; j < d; ++j) c[j] = std::max(y[r * d + j], 0.0f);
    for (std::int64_t j = 0; j < d; ++j) c[d + j] = x[r * d + j];
  }
}

COLONY_VECTOR_CLONES
void Relu(std::int64_t n, float* v) {
  for (std::int64_t i = 0; i < n; ++i) v[i] = std::max(v[i], 0.0f);
}

COLONY_VECTOR_CLONES
void SmallMatmul(std::int64_t rows, std::int64_t k, std::int64_t n, const float* in, const float* w,
                 const float* bias, float* out) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* o = out + r * n;
    if (bias != nullptr) {
      std::copy(bias, bias + n, o);
    } else {
      std::fill(o, o + n, 0.0f);
    }
    for (std::int64_t i = 0; i < k; ++i) {
      const float x = in[r * k + i];
      const float* wr = w + i * n;
      for (std::int64_t j = 0; j < n; ++j) o[j] += x * wr[j];
    }
  }
}

COLONY_VECTOR_CLONES
void GateMiddle(std::int64_t rows, std::int64_t d, float* pre, const float* x, const float* bias,
                float* cat) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* p = pre + r * 2 * d;
    float* c = cat + r * 2 * d;
    const float* xr = x + r * d;
    for (std::int64_t j = 0; j < d; ++j) c[d + j] = Sigmoid(p[j]) * xr[j];
    for (std::int64_t j = 0; j < d; ++j) p[d + j] = Sigmoid(p[d + j] - bias[j]);
  }
}

COLONY_VECTOR_CLONES
void GateEnd(std::int64_t rows, std::int64_t d, const float* candidate, const float* pre,
             const float* x, float* out) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* z = pre + r * 2 * d + d;
    for (std::int64_t j = 0; j < d; ++j) {
      const float xj = x[r * d + j];
      out[r * d + j] = xj + z[j] * (Tanh(candidate[r * d + j]) - xj);
    }
  }
}

namespace {

// Every function taking or returning V16 is inlined into its caller, so the ABI GCC warns about
// (how a 64-byte vector is passed without AVX-512) never applies.
#pragma GCC diagnostic ignored "-Wpsabi"

// Sixteen floats in GCC's generic vectors: one AVX-512 register, two AVX2 ones or four SSE
// ones, as each clone of the functions below is compiled. Loads and stores through memcpy
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
  COLONY_INLINE static V16 Dot16(const float* a, const float* rows, std::int64_t stride, std::int64_t) {
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
                          float first_weight, const float* first, std::int64_t, float* out) {
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
  COLONY_INLINE static void Combine(const float* x, const float* rows, std::int64_t count, std::int64_t,
                      float* out) {
    V16 acc[kChunks] = {};
    for (std::int64_t i = 0; i < count; ++i) {
      const V16 xi = Splat(x[i]);
      for (int c = 0; c < kChunks; ++c) acc[c] += xi * Load(rows + i * kChunks * kLanes + c * kLanes);
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
  COLONY_INLINE static V16 Dot16(const float* a, const float* rows, std::int64_t stride, std::int64_t d) {
    V16 out;
    for (int j = 0; j < kLanes; ++j) out[j] = Dot(a, rows + j * stride, d);
    return out;
  }
  COLONY_INLINE static void WeightedSum(const float* weight, const float* rows, std::int64_t count,
                          float first_weight, const float* first, std::int64_t d, float* out) {
    for (std::int64_t j = 0; j < d; ++j) out[j] = first_weight * first[j];
    for (std::int64_t i = 0; i < count; ++i) {
      if (weight[i] == 0.0f) continue;
      for (std::int64_t j = 0; j < d; ++j) out[j] += weight[i] * rows[i * d + j];
    }
  }
  COLONY_INLINE static void Combine(const float* x, const float* rows, std::int64_t count, std::int64_t d,
                      float* out) {
    std::fill(out, out + d, 0.0f);
    for (std::int64_t i = 0; i < count; ++i) {
      for (std::int64_t j = 0; j < d; ++j) out[j] += x[i] * rows[i * d + j];
    }
  }
};

// score[s] += sum_i x[i] table[i][s], s < count, table rows `stride` floats apart: blocks of 64
// and 16 slots summed in registers, then single slots.
COLONY_INLINE void AddRowCombination(const float* x, std::int64_t n, const float* table, std::int64_t stride,
                       std::int64_t count, float* score) {
  std::int64_t s = 0;
  for (; s + 4 * kLanes <= count; s += 4 * kLanes) {
    V16 acc[4] = {};
    for (std::int64_t i = 0; i < n; ++i) {
      const V16 xi = Splat(x[i]);
      for (int c = 0; c < 4; ++c) acc[c] += xi * Load(table + i * stride + s + c * kLanes);
    }
    for (int c = 0; c < 4; ++c) Store(score + s + c * kLanes, Load(score + s + c * kLanes) + acc[c]);
  }
  for (; s + kLanes <= count; s += kLanes) {
    V16 acc = {};
    for (std::int64_t i = 0; i < n; ++i) acc += Splat(x[i]) * Load(table + i * stride + s);
    Store(score + s, Load(score + s) + acc);
  }
  for (; s < count; ++s) {
    float t = 0.0f;
    for (std::int64_t i = 0; i < n; ++i) t += x[i] * table[i * stride + s];
    score[s] += t;
  }
}

// One env's attention (AttentionArgs), rows of width d = 16 kChunks (or any d for 0).
template <int kChunks>
COLONY_INLINE void AttendOneEnv(const AttentionArgs& a, std::int64_t e) {
  using R = Row<kChunks>;
  const std::int64_t width = a.width, memory = a.memory, d = a.heads * width;
  const std::int64_t run = memory - a.next;
  const float scale = 1.0f / std::sqrt(static_cast<float>(width));
  float* qu = a.scratch;
  float* qv = qu + width;
  float* query_keys = qv + width;       // W_k^T (q + u) for one head, [d]
  float* mixed = query_keys + d;        // sum_j a_j n_j for one head, [d]
  float* score = mixed + d;             // [memory]
  float* allowed = score + memory;      // [memory], ring-slot order
  const float* q = a.q + e * a.q_stride;
  const float* own = a.normed + e * d;
  float* rows = a.cache + e * memory * d;
  const std::uint8_t* ok = a.memory_ok + e * memory;
  for (std::int64_t i = 0; i < memory; ++i) {
    const std::int64_t slot = a.next + i < memory ? a.next + i : a.next + i - memory;
    allowed[slot] = ok[i] ? 1.0f : 0.0f;
  }
  for (std::int64_t h = 0; h < a.heads; ++h) {
    for (std::int64_t i = 0; i < width; ++i) {
      qu[i] = q[h * width + i] + a.content_bias[h * width + i];
      qv[i] = q[h * width + i] + a.position_bias[h * width + i];
    }
    R::Combine(qu, a.key_weight + h * width * d, width, d, query_keys);
    // Content: (W_k^T (q + u)) . n_s; position: (q + v) . W_R R_distance(s).
    std::int64_t s = 0;
    for (; s + kLanes <= memory; s += kLanes) {
      Store(score + s, R::Dot16(query_keys, rows + s * d, d, d));
    }
    for (; s < memory; ++s) score[s] = R::Dot(query_keys, rows + s * d, d);
    AddRowCombination(qv, width, a.position + h * width * 2 * memory + run, 2 * memory, memory,
                      score);
    float own_score = R::Dot(query_keys, own, d);
    for (std::int64_t i = 0; i < width; ++i) own_score += qv[i] * a.position_own[h * width + i];
    // Masked slots get weight exactly 0, as softmax over -inf gives the reference. The maximum
    // and the total run in sixteen lanes (a scalar chain of M dependent adds would cost more
    // than the exps).
    V16 top_lanes = Splat(own_score);
    std::int64_t t = 0;
    for (; t + kLanes <= memory; t += kLanes) {
      const V16 candidate = Load(allowed + t) != 0.0f ? Load(score + t) : top_lanes;
      top_lanes = top_lanes > candidate ? top_lanes : candidate;
    }
    float top = own_score;
    for (int i = 0; i < kLanes; ++i) top = std::max(top, top_lanes[i]);
    for (; t < memory; ++t) {
      if (allowed[t] != 0.0f) top = std::max(top, score[t]);
    }
    float* weight = score;  // in place
    for (t = 0; t < memory; ++t) weight[t] = ExpApprox((score[t] - top) * scale) * allowed[t];
    const float own_weight = ExpApprox((own_score - top) * scale);
    V16 total_lanes = {};
    for (t = 0; t + kLanes <= memory; t += kLanes) total_lanes += Load(weight + t);
    float total = own_weight + Total(total_lanes);
    for (; t < memory; ++t) total += weight[t];
    const float inv = 1.0f / total;
    for (t = 0; t < memory; ++t) weight[t] *= inv;
    R::WeightedSum(weight, rows, memory, own_weight * inv, own, d, mixed);
    // Output: W_v (sum_j a_j n_j), the head's `width` rows of W_v against `mixed`.
    const float* value_rows = a.value_weight + h * width * d;
    float* out = a.out + e * d + h * width;
    std::int64_t i = 0;
    for (; i + kLanes <= width; i += kLanes) {
      Store(out + i, R::Dot16(mixed, value_rows + i * d, d, d));
    }
    for (; i < width; ++i) out[i] = R::Dot(mixed, value_rows + i * d, d);
  }
  std::copy(own, own + d, rows + a.next * d);
}

}  // namespace

std::int64_t AttentionScratch(std::int64_t heads, std::int64_t width, std::int64_t memory) {
  return 2 * width + 2 * heads * width + 2 * memory;
}

COLONY_VECTOR_CLONES
void Attention(const AttentionArgs& a) {
  const std::int64_t d = a.heads * a.width;
  const std::int64_t block = a.memory * d;
  for (std::int64_t e = 0; e < a.rows; ++e) {
    if (e + 1 < a.rows) {
      // The next env's cached rows (one contiguous block) come from L3 or memory; asking for
      // them now hides most of the wait.
      for (std::int64_t f = 0; f < block; f += kLanes) __builtin_prefetch(a.cache + (e + 1) * block + f);
    }
    switch (d) {
      case 16: AttendOneEnv<1>(a, e); break;
      case 32: AttendOneEnv<2>(a, e); break;
      case 64: AttendOneEnv<4>(a, e); break;
      case 128: AttendOneEnv<8>(a, e); break;
      default: AttendOneEnv<0>(a, e);
    }
  }
}

}  // namespace colony::step_kernel
