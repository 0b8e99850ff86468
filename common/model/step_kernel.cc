// Loops of the fast GTrXL step; see step_kernel.h. Built with -O3 (common/model/CMakeLists.txt)
// and, on x86-64, cloned for AVX-512 and AVX2+FMA machines with a portable fallback, picked at
// load time by CPU features (ISA levels x86-64-v4 and v3; not CPU models such as "haswell",
// which AMD parts never match): the project builds for plain x86-64, and these loops are where
// vector width pays.
#include "common/model/step_kernel.h"

#include <algorithm>
#include <cmath>

#include "common/model/vector16.h"

namespace colony::step_kernel {

using vector16::ExpApprox;
using vector16::kLanes;
using vector16::Load;
using vector16::Row;
using vector16::Splat;
using vector16::Store;
using vector16::Total;
using vector16::V16;

namespace {

COLONY_INLINE float Sigmoid(float x) { return 1.0f / (1.0f + ExpApprox(-x)); }
// 1 - 2 / (1 + e^2x): saturates cleanly at +-1; absolute error ~1e-7 near 0.
COLONY_INLINE float Tanh(float x) { return 1.0f - 2.0f / (1.0f + ExpApprox(2.0f * x)); }

}  // namespace

COLONY_VECTOR_CLONES
void LayerNorm(std::int64_t rows, std::int64_t width, const float* in, const float* gamma,
               const float* beta, float* out) {
  constexpr int kPartials = 8;  // partial sums the compiler keeps in one vector register
  const std::int64_t body = width - width % kPartials;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* x = in + r * width;
    float* y = out + r * width;
    float acc[kPartials] = {};
    for (std::int64_t j = 0; j < body; j += kPartials) {
      for (int l = 0; l < kPartials; ++l) acc[l] += x[j + l];
    }
    float sum = 0.0f;
    for (int l = 0; l < kPartials; ++l) sum += acc[l];
    for (std::int64_t j = body; j < width; ++j) sum += x[j];
    const float mean = sum / static_cast<float>(width);
    float sq[kPartials] = {};
    for (std::int64_t j = 0; j < body; j += kPartials) {
      for (int l = 0; l < kPartials; ++l) sq[l] += (x[j + l] - mean) * (x[j + l] - mean);
    }
    float var = 0.0f;
    for (int l = 0; l < kPartials; ++l) var += sq[l];
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

// score[s] += sum_i x[i] table[i][s], s < count, table rows `stride` floats apart: blocks of 64
// and 16 slots summed in registers, then single slots.
COLONY_INLINE void AddRowCombination(const float* x, std::int64_t n, const float* table,
                                     std::int64_t stride, std::int64_t count, float* score) {
  std::int64_t s = 0;
  for (; s + 4 * kLanes <= count; s += 4 * kLanes) {
    V16 acc[4] = {};
    for (std::int64_t i = 0; i < n; ++i) {
      const V16 xi = Splat(x[i]);
      for (int c = 0; c < 4; ++c) acc[c] += xi * Load(table + i * stride + s + c * kLanes);
    }
    for (int c = 0; c < 4; ++c) {
      Store(score + s + c * kLanes, Load(score + s + c * kLanes) + acc[c]);
    }
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
      for (std::int64_t f = 0; f < block; f += kLanes) {
        __builtin_prefetch(a.cache + (e + 1) * block + f);
      }
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
