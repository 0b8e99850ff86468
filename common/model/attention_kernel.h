// The GTrXL's relative-position attention over a segment, forward and backward, as plain loops
// on contiguous float buffers: what the learner's unroll runs on the CPU (gtrxl.cc wraps it in
// an autograd function; the op-by-op LibTorch path stays for other devices and is what tests
// hold this to). No LibTorch here.
//
// Why: op by op, each query's scores span all K = M + T keys of the segment and are then masked
// to its window of M + 1, with a gather for the position terms and a dozen passes over
// [B, H, T, K] tensors forward and back. Here every query visits only its window: key t + j
// (j = 0..M) at distance M - j, so the work is (M + 1) / K of that and nothing is gathered.
//
// Shapes (d = heads * width, K = M + T; all contiguous, row-major):
//   q_content, q_position [T, B, d]: the queries plus u and plus v, already scaled by
//     1/sqrt(width); key_value [K, B, 2d]: keys then values of every row (memory first);
//   position [heads, M + 1, width]: W_R R by distance; allowed [B, T, K]: 1 where query t may
//     see key k (in its window, same episode, valid); each query's own row must be allowed.
// Forward writes out [T, B, d] and the attention weights probs [B, heads, T, M + 1] (window
// order), which Backward reads. Backward adds into d_key_value and d_position (zero them first)
// and writes d_q_content and d_q_position.
#pragma once

#include <cstdint>

namespace colony::attention_kernel {

// Head widths the loops are built for (16, 32, 64); others take the op-by-op path.
bool Supports(std::int64_t width);

struct Shape {
  std::int64_t steps, batch, heads, width, memory;  // T, B, H, w, M
};

struct ForwardArgs {
  Shape shape;
  const float* q_content;
  const float* q_position;
  const float* key_value;
  const float* position;
  const std::uint8_t* allowed;
  float* out;
  float* probs;
};
void Forward(const ForwardArgs& a);

struct BackwardArgs {
  Shape shape;
  const float* q_content;
  const float* q_position;
  const float* key_value;
  const float* position;
  const float* probs;
  const float* d_out;  // [T, B, d]
  float* d_q_content;
  float* d_q_position;
  float* d_key_value;
  float* d_position;
};
void Backward(const BackwardArgs& a);

}  // namespace colony::attention_kernel
