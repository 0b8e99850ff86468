// The element-wise and attention loops of the GTrXL's fast step (gtrxl_step.h), on contiguous
// float buffers. No LibTorch here: gtrxl_step.cc owns the buffers and runs the matrix products
// through LibTorch's BLAS between these calls.
//
// Every loop is written so that the compiler can vectorise it without -ffast-math: the inner
// loops are element-wise or axpy-shaped (no float reductions except layer norm's, which keeps
// eight partial sums), and exp is a polynomial (ExpApprox) instead of a libm call. Rows are env
// columns; `d` is d_model. Results agree with LibTorch's to rounding (~1e-7 relative).
#pragma once

#include <cstdint>

namespace colony::step_kernel {

// out[r] = (in[r] - mean) / sqrt(var + 1e-5) * gamma + beta, per row of `width`; out may be in.
void LayerNorm(std::int64_t rows, std::int64_t width, const float* in, const float* gamma,
               const float* beta, float* out);

// cat[r] = [relu(y[r]) | x[r]] ([rows, 2d]): the input of a gate's first product.
void ReluThenConcat(std::int64_t rows, std::int64_t d, const float* y, const float* x, float* cat);

// In place, n elements.
void Relu(std::int64_t n, float* v);

// out [rows, n] = in [rows, k] . w [k, n] (+ bias [n] if not null), all contiguous. For a few
// rows only: it streams w once per row, where a BLAS call would cost more in dispatch than this
// costs in arithmetic.
void SmallMatmul(std::int64_t rows, std::int64_t k, std::int64_t n, const float* in, const float* w,
                 const float* bias, float* out);

// The middle of GruGate (gtrxl.h) after the product pre = [y | x] [W_r W_z ; U_r U_z]:
// r = sigmoid(pre[:, :d]), z = sigmoid(pre[:, d:] - bias). Stores z over pre[:, d:] and r * x
// over cat[:, d:], so that cat = [y | r * x] is the input of the candidate's product.
void GateMiddle(std::int64_t rows, std::int64_t d, float* pre, const float* x, const float* bias,
                float* cat);

// The end of GruGate: out = x + z * (tanh(candidate) - x), z from pre[:, d:] as GateMiddle left
// it. out may alias x.
void GateEnd(std::int64_t rows, std::int64_t d, const float* candidate, const float* pre,
             const float* x, float* out);

// One query row per env attends over a window of `keys` = M + 1 key rows: the M memory slots,
// oldest first, then the step's own row. The caches are rings of `keys` slots per env and head,
//   k [rows, heads, width, keys] (scores are axpys over slots), v [rows, heads, keys, width]
// (the output is an axpy over rows of v), with the window's oldest row at slot `begin` and
// the step's own row at slot begin - 1 (mod keys): the window is at most two runs of slots.
// position [heads, width, 2 * keys]: W_R R for the distance of each window row (M down to 0),
// twice over (so that the rows of any rotation of the window are one contiguous run).
// q [rows, q_stride] starts at the query, and the step's own key and value follow it at q + d
// and q + 2d; Attention stores them, env by env, just before that env reads its window (the
// cache lines are then still hot). memory_ok [rows, keys - 1] says which memory slots this env
// may see (the step's own row always may). out [rows, heads * width].
struct AttentionArgs {
  std::int64_t rows, heads, width, keys, begin, q_stride;
  const float* q;
  float* k;
  float* v;
  const float* position;
  const float* content_bias;   // u [heads, width]
  const float* position_bias;  // v [heads, width]
  const std::uint8_t* memory_ok;
  float* out;
  float* scratch;  // 3 * keys + 2 * width floats
};
void Attention(const AttentionArgs& a);

// Writes one row of keys and values ([rows, 2 * heads * width] at kv, row stride kv_stride) into
// the caches at ring slot `column` of `stride` slots (layout as in AttentionArgs).
void StoreKeysValues(std::int64_t rows, std::int64_t heads, std::int64_t width, std::int64_t stride,
                     std::int64_t column, const float* kv, std::int64_t kv_stride, float* k,
                     float* v);

}  // namespace colony::step_kernel
