// Loops of the learner's segment attention; see attention_kernel.h. Built like step_kernel.cc
// (-O3, cloned per ISA: vector16.h). Rows are `width` = 16 kChunks floats (gtrxl.cc uses the
// op-by-op path for other widths).
#include "common/model/attention_kernel.h"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "common/model/vector16.h"

namespace colony::attention_kernel {
namespace {

using vector16::Axpy;
using vector16::ExpApprox;
using vector16::kLanes;
using vector16::Load;
using vector16::Row;
using vector16::RowAccumulator;
using vector16::Splat;
using vector16::Store;
using vector16::Total;
using vector16::V16;

// One query (t, b, head): offsets of its rows in [T, B, d] (queries, output and their
// gradients) and of its M + 1 weights in [B, H, T, M + 1]; allowed[j] for window row j.
struct Query {
  std::int64_t t, row, probs;
  const std::uint8_t* allowed;
};

Query Locate(const Shape& s, const std::uint8_t* allowed, std::int64_t b, std::int64_t h,
             std::int64_t t) {
  const std::int64_t keys = s.memory + s.steps;
  Query q;
  q.t = t;
  q.row = (t * s.batch + b) * s.heads * s.width + h * s.width;
  q.probs = ((b * s.heads + h) * s.steps + t) * (s.memory + 1);
  q.allowed = allowed == nullptr ? nullptr : allowed + (b * s.steps + t) * keys + t;
  return q;
}

// The keys and values of one (b, head), copied out of [K, B, 2d] into contiguous [K, w] rows
// before its T queries run, and their gradients, copied back after. In place they lie 2Bd
// floats apart (16 KB at the default sizes): every row of a window would fall into the same
// L1 cache set and page, and the loads would miss each time.
struct Block {
  std::vector<float> keys, values, d_keys, d_values;
  std::int64_t width = 0, stride = 0, rows = 0;

  Block(const Shape& s, bool gradients)
      : width(s.width), stride(2 * s.batch * s.heads * s.width), rows(s.memory + s.steps) {
    keys.resize(static_cast<std::size_t>(rows * width));
    values.resize(keys.size());
    if (gradients) {
      d_keys.resize(keys.size());
      d_values.resize(keys.size());
    }
  }
  // first: offset of (k = 0, b, head)'s key in [K, B, 2d]; values follow keys by d.
  void Load(const float* key_value, std::int64_t first, std::int64_t d) {
    for (std::int64_t k = 0; k < rows; ++k) {
      const float* key = key_value + first + k * stride;
      std::copy(key, key + width, keys.data() + k * width);
      std::copy(key + d, key + d + width, values.data() + k * width);
    }
    std::fill(d_keys.begin(), d_keys.end(), 0.0f);
    std::fill(d_values.begin(), d_values.end(), 0.0f);
  }
  void StoreGradients(float* d_key_value, std::int64_t first, std::int64_t d) const {
    for (std::int64_t k = 0; k < rows; ++k) {
      float* key = d_key_value + first + k * stride;
      std::copy(d_keys.data() + k * width, d_keys.data() + (k + 1) * width, key);
      std::copy(d_values.data() + k * width, d_values.data() + (k + 1) * width, key + d);
    }
  }
};

// out[j] = a . (rows + j stride), j = 0..count-1: sixteen at a time (vector16::SumLanes), then
// one by one.
template <int kChunks>
COLONY_INLINE void Dots(const float* a, const float* rows, std::int64_t stride, std::int64_t count,
                        float* out) {
  std::int64_t j = 0;
  for (; j + kLanes <= count; j += kLanes) {
    Store(out + j, Row<kChunks>::Dot16(a, rows + j * stride, stride, 0));
  }
  for (; j < count; ++j) out[j] = Row<kChunks>::Dot(a, rows + j * stride, 0);
}

template <int kChunks>
COLONY_INLINE void ForwardQuery(const ForwardArgs& a, const Query& q, const Block& block,
                                const float* position_top, float* scratch) {
  const std::int64_t window = a.shape.memory + 1, width = a.shape.width;
  const float* keys = block.keys.data() + q.t * width;  // window row j at keys + j * width
  float* score = a.probs + q.probs;
  float* by_distance = scratch;
  Dots<kChunks>(a.q_content + q.row, keys, width, window, score);
  Dots<kChunks>(a.q_position + q.row, position_top, -width, window, by_distance);
  // Masked softmax; masked rows get weight exactly 0, as softmax over -inf gives.
  float top = -std::numeric_limits<float>::infinity();
  for (std::int64_t j = 0; j < window; ++j) {
    score[j] += by_distance[j];
    if (q.allowed[j]) top = std::max(top, score[j]);
  }
  V16 total_lanes = {};
  std::int64_t j = 0;
  for (; j < window; ++j) score[j] = q.allowed[j] ? ExpApprox(score[j] - top) : 0.0f;
  for (j = 0; j + kLanes <= window; j += kLanes) total_lanes += Load(score + j);
  float total = Total(total_lanes);
  for (; j < window; ++j) total += score[j];
  const float inv = 1.0f / total;
  RowAccumulator<kChunks> out;
  const float* values = block.values.data() + q.t * width;
  for (j = 0; j < window; ++j) {
    score[j] *= inv;
    if (score[j] != 0.0f) out.Add(score[j], values + j * width);
  }
  out.StoreTo(a.out + q.row);
}

template <int kChunks>
COLONY_INLINE void BackwardQuery(const BackwardArgs& a, const Query& q, Block& block,
                                 std::int64_t position_top, float* scratch) {
  const std::int64_t window = a.shape.memory + 1, width = a.shape.width;
  const float* p = a.probs + q.probs;
  const float* d_out = a.d_out + q.row;
  const float* q_content = a.q_content + q.row;
  const float* q_position = a.q_position + q.row;
  const float* keys = block.keys.data() + q.t * width;
  const float* values = block.values.data() + q.t * width;
  float* d_keys = block.d_keys.data() + q.t * width;
  float* d_values = block.d_values.data() + q.t * width;
  // dL/dp_j = d_out . value_j; dL/dscore_j = p_j (dL/dp_j - sum_i p_i dL/dp_i).
  float* d_score = scratch;
  Dots<kChunks>(d_out, values, width, window, d_score);
  V16 mean_lanes = {};
  std::int64_t j = 0;
  for (; j + kLanes <= window; j += kLanes) mean_lanes += Load(p + j) * Load(d_score + j);
  float mean = Total(mean_lanes);
  for (; j < window; ++j) mean += p[j] * d_score[j];
  RowAccumulator<kChunks> d_q_content, d_q_position;
  const float* position = a.position + position_top;
  float* d_position = a.d_position + position_top;
  for (j = 0; j < window; ++j) {
    if (p[j] == 0.0f) continue;  // masked: no gradient anywhere
    const float g = p[j] * (d_score[j] - mean);
    d_q_content.Add(g, keys + j * width);
    d_q_position.Add(g, position - j * width);
    Axpy<kChunks>(g, q_content, d_keys + j * width);
    Axpy<kChunks>(p[j], d_out, d_values + j * width);
    Axpy<kChunks>(g, q_position, d_position - j * width);
  }
  d_q_content.StoreTo(a.d_q_content + q.row);
  d_q_position.StoreTo(a.d_q_position + q.row);
}

// Every query of the segment, one (b, head) at a time: its keys and values copied into one
// Block, then its T queries; backward copies the block's key and value gradients back after.
template <int kChunks, typename Args>
COLONY_INLINE void RunAll(const Args& a) {
  constexpr bool kBackward = std::is_same_v<Args, BackwardArgs>;
  const Shape& s = a.shape;
  const std::int64_t d = s.heads * s.width;
  std::vector<float> scratch(static_cast<std::size_t>(s.memory + 1));
  Block block(s, /*gradients=*/kBackward);
  for (std::int64_t b = 0; b < s.batch; ++b) {
    for (std::int64_t h = 0; h < s.heads; ++h) {
      const std::int64_t first = b * 2 * d + h * s.width;
      block.Load(a.key_value, first, d);
      const std::int64_t position_top = (h * (s.memory + 1) + s.memory) * s.width;
      for (std::int64_t t = 0; t < s.steps; ++t) {
        if constexpr (kBackward) {
          BackwardQuery<kChunks>(a, Locate(s, nullptr, b, h, t), block, position_top,
                                 scratch.data());
        } else {
          ForwardQuery<kChunks>(a, Locate(s, a.allowed, b, h, t), block,
                                a.position + position_top, scratch.data());
        }
      }
      if constexpr (kBackward) block.StoreGradients(a.d_key_value, first, d);
    }
  }
}

template <typename Args>
COLONY_INLINE void Run(const Args& a) {
  switch (a.shape.width) {
    case 16:
      RunAll<1>(a);
      break;
    case 32:
      RunAll<2>(a);
      break;
    case 64:
      RunAll<4>(a);
      break;
    default:
      break;  // refused by Supports
  }
}

}  // namespace

bool Supports(std::int64_t width) { return width == 16 || width == 32 || width == 64; }

COLONY_VECTOR_CLONES
void Forward(const ForwardArgs& a) { Run(a); }

COLONY_VECTOR_CLONES
void Backward(const BackwardArgs& a) { Run(a); }

}  // namespace colony::attention_kernel
