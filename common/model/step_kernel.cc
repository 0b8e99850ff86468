// Loops of the fast GTrXL step; see step_kernel.h. Built with -O3 (common/model/CMakeLists.txt)
// and, on x86-64, cloned for AVX-512 and AVX2+FMA machines with a portable fallback, picked at
// load time by CPU features (ISA levels x86-64-v4 and v3; not CPU models such as "haswell",
// which AMD parts never match): the project builds for plain x86-64, and these loops are where
// vector width pays.
#include "common/model/step_kernel.h"

#include <algorithm>
#include <bit>
#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define COLONY_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define COLONY_VECTOR_CLONES
#endif

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

void StoreKeysValues(std::int64_t rows, std::int64_t heads, std::int64_t width, std::int64_t stride,
                     std::int64_t column, const float* kv, std::int64_t kv_stride, float* k,
                     float* v) {
  const std::int64_t d = heads * width;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* key = kv + r * kv_stride;
    const float* value = key + d;
    for (std::int64_t h = 0; h < heads; ++h) {
      float* kc = k + (r * heads + h) * width * stride + column;
      for (std::int64_t i = 0; i < width; ++i) kc[i * stride] = key[h * width + i];
      std::copy(value + h * width, value + (h + 1) * width,
                v + ((r * heads + h) * stride + column) * width);
    }
  }
}

namespace {

// Blocks of scores and outputs are accumulated in registers (fixed-size local arrays the
// compiler keeps in vector registers), not in memory: a load-add-store per step of the inner
// loop would chain every iteration to the previous one through store forwarding.

// out[j] = sum_i qu[i] k[i][j] + qv[i] p[i][j], j < kBlock.
template <int kBlock>
inline void ScoreBlock(const float* k, std::int64_t k_stride, const float* p, std::int64_t p_stride,
                       const float* qu, const float* qv, std::int64_t width, float* out) {
  float acc[kBlock] = {};
  for (std::int64_t i = 0; i < width; ++i) {
    const float* kr = k + i * k_stride;
    const float* pr = p + i * p_stride;
    const float cu = qu[i], cv = qv[i];
    for (int j = 0; j < kBlock; ++j) acc[j] += cu * kr[j] + cv * pr[j];
  }
  for (int j = 0; j < kBlock; ++j) out[j] = acc[j];
}

// out[i] = sum_c weight[c] v[c][i] for the nonzero weights, i < kWidth.
template <int kWidth>
inline void WeightedSum(const float* weight, std::int64_t keys, const float* v, float* out) {
  float acc[kWidth] = {};
  for (std::int64_t c = 0; c < keys; ++c) {
    if (weight[c] == 0.0f) continue;
    const float* vr = v + c * kWidth;
    for (int i = 0; i < kWidth; ++i) acc[i] += weight[c] * vr[i];
  }
  for (int i = 0; i < kWidth; ++i) out[i] = acc[i];
}

inline void WeightedSumAnyWidth(const float* weight, std::int64_t keys, const float* v,
                                std::int64_t width, float* out) {
  std::fill(out, out + width, 0.0f);
  for (std::int64_t c = 0; c < keys; ++c) {
    if (weight[c] == 0.0f) continue;
    for (std::int64_t i = 0; i < width; ++i) out[i] += weight[c] * v[c * width + i];
  }
}

}  // namespace

COLONY_VECTOR_CLONES
void Attention(const AttentionArgs& a) {
  // Everything runs in ring-slot order: slot s holds window row (s - begin) mod keys, whose
  // position term is column s + run of the doubled position table; the softmax does not care
  // about order. Slot begin - 1 (mod keys) is the step's own row.
  const std::int64_t keys = a.keys, width = a.width, memory = keys - 1;
  const std::int64_t run = keys - a.begin, newest = (a.begin + memory) % keys;
  const float scale = 1.0f / std::sqrt(static_cast<float>(width));
  float* qu = a.scratch;
  float* qv = qu + width;
  float* score = qv + width;
  float* weight = score + keys;
  float* allowed = weight + keys;
  for (std::int64_t e = 0; e < a.rows; ++e) {
    StoreKeysValues(1, a.heads, width, keys, newest, a.q + e * a.q_stride + a.heads * width,
                    a.q_stride, a.k + e * a.heads * width * keys, a.v + e * a.heads * keys * width);
    if (e + 1 < a.rows) {
      // The next env's keys and values (2 x heads x keys x width floats, two contiguous blocks)
      // come from L3 or memory; asking for them now hides most of the wait.
      const std::int64_t block = a.heads * keys * width;
      for (std::int64_t f = 0; f < block; f += 16) {
        __builtin_prefetch(a.k + (e + 1) * block + f);
        __builtin_prefetch(a.v + (e + 1) * block + f);
      }
    }
    const std::uint8_t* ok = a.memory_ok + e * memory;
    for (std::int64_t c = 0; c < std::min(run, memory); ++c) {
      allowed[a.begin + c] = ok[c] ? 1.0f : 0.0f;
    }
    for (std::int64_t c = run; c < memory; ++c) allowed[c - run] = ok[c] ? 1.0f : 0.0f;
    allowed[newest] = 1.0f;
    for (std::int64_t h = 0; h < a.heads; ++h) {
      const float* q = a.q + e * a.q_stride + h * width;
      for (std::int64_t i = 0; i < width; ++i) {
        qu[i] = q[i] + a.content_bias[h * width + i];
        qv[i] = q[i] + a.position_bias[h * width + i];
      }
      // Content (q + u) . k_j and position (q + v) . W_R R_{distance(j)}.
      const float* k = a.k + (e * a.heads + h) * width * keys;
      const float* pos = a.position + h * width * 2 * keys + run;
      std::int64_t c = 0;
      for (; c + 16 <= keys; c += 16) {
        ScoreBlock<16>(k + c, keys, pos + c, 2 * keys, qu, qv, width, score + c);
      }
      for (; c + 4 <= keys; c += 4) {
        ScoreBlock<4>(k + c, keys, pos + c, 2 * keys, qu, qv, width, score + c);
      }
      for (; c < keys; ++c) ScoreBlock<1>(k + c, keys, pos + c, 2 * keys, qu, qv, width, score + c);
      float top = score[newest];
      for (std::int64_t s = 0; s < keys; ++s) {
        if (allowed[s] != 0.0f) top = std::max(top, score[s]);
      }
      // Masked slots get weight exactly 0, as softmax over -inf gives the reference.
      for (std::int64_t s = 0; s < keys; ++s) {
        weight[s] = ExpApprox((score[s] - top) * scale) * allowed[s];
      }
      float total = 0.0f;
      for (std::int64_t s = 0; s < keys; ++s) total += weight[s];
      const float inv = 1.0f / total;
      for (std::int64_t s = 0; s < keys; ++s) weight[s] *= inv;
      float* out = a.out + e * a.heads * width + h * width;
      const float* v = a.v + (e * a.heads + h) * keys * width;
      switch (width) {
        case 8: WeightedSum<8>(weight, keys, v, out); break;
        case 16: WeightedSum<16>(weight, keys, v, out); break;
        case 32: WeightedSum<32>(weight, keys, v, out); break;
        default: WeightedSumAnyWidth(weight, keys, v, width, out);
      }
    }
  }
}

}  // namespace colony::step_kernel
