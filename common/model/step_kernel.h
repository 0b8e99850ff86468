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

// One query row per env attends over its M memory rows and its own row, with the keys and
// values never formed: a key is W_k n and a value W_v n of a layer-normed row n, so per head
//   content score (q + u) . W_k n_j = (W_k^T (q + u)) . n_j,
//   output        sum_j a_j W_v n_j  = W_v (sum_j a_j n_j),
// and the cache holds only the normed rows n_j (d floats a slot instead of 2d for keys and
// values: at E = 256 and M = 64 the cache is half as large and stays in L3).
//   cache [rows, memory, d]: a ring of `memory` slots per env; the oldest row is at slot `next`
//     and a row of distance k (1..M) at slot next - k (mod memory). Attention writes this step's
//     row (normed) into slot `next` after reading, so the caller then advances next by one.
//   position [heads, width, 2 * memory]: W_R R for window row c (0 = oldest, distance M - c),
//     twice over, so that the slots' terms are one contiguous run from column memory - next;
//     position_own [heads, width]: distance 0.
//   q [rows, q_stride] the queries; key_weight, value_weight [d, d] as nn::Linear stores them
//     (out x in); memory_ok [rows, memory] which memory rows (oldest first) an env may see (its
//     own row always may); out [rows, d].
struct AttentionArgs {
  std::int64_t rows, heads, width, memory, next, q_stride;
  const float* q;
  const float* normed;  // [rows, d], d = heads * width
  float* cache;
  const float* key_weight;
  const float* value_weight;
  const float* position;
  const float* position_own;
  const float* content_bias;   // u [heads, width]
  const float* position_bias;  // v [heads, width]
  const std::uint8_t* memory_ok;
  float* out;
  float* scratch;  // AttentionScratch(...) floats
};
std::int64_t AttentionScratch(std::int64_t heads, std::int64_t width, std::int64_t memory);
void Attention(const AttentionArgs& a);

}  // namespace colony::step_kernel
