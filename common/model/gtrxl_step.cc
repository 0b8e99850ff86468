// GTrXL fast step: ring buffers, weight packing and the step itself; see gtrxl_step.h. The
// equations are GtrxlPolicy's (gtrxl.cc); tests/gtrxl_step_test.cc holds the two to 1e-5.
#include "common/model/gtrxl_step.h"

#include <cmath>
#include <cstring>

#include "common/model/step_kernel.h"

namespace colony {

// Step mode's state for E envs; Memory::ring points here (memory.h). Hidden rows live in rings
// of C = M + 1 slots: before a step with write index w, memory slot c (0 = oldest) is at ring
// slot (w + 1 + c) mod C and the new row goes to slot w; each row is stored twice, at columns s
// and s + C, so that the last M rows are always one contiguous range, which Memory::hidden
// views. Attention reads its own ring of the M memory rows layer-normed (step_kernel.h), laid
// out per env, with the oldest at slot `next`.
struct StepRing {
  std::int64_t envs = 0, write = 0, next = 0;
  std::int64_t generation = -1;             // weights that made `normed`; -1: none yet
  torch::Tensor hidden;                     // [L, 2C, E, d]
  torch::Tensor normed;                     // [L, E, M, d]
  std::vector<std::uint8_t> valid;          // [M, E], oldest slot first
  const void* handed_hidden = nullptr;      // the Memory::hidden view given out last
  const void* handed_valid = nullptr;
  std::int64_t hidden_version = 0, valid_version = 0;
  // Work buffers, [E, ·]: x and y are the residual stream in and out of a sublayer.
  torch::Tensor x, y, normed_row, query, attended, projected, cat, pre, candidate, hidden_ff;
  std::vector<std::uint8_t> memory_ok;      // [E, M]
  std::vector<float> scratch;
};

namespace {

float* F(const torch::Tensor& t) { return t.data_ptr<float>(); }

// Up to this many envs the products run as plain loops (step_kernel::SmallMatmul); above it,
// LibTorch's BLAS, whose per-call cost (dispatch, packing) then pays for itself.
constexpr std::int64_t kSmallBatch = 4;

// out = in . w_t (+ bias): contiguous [rows, k], [k, n], [n] (or undefined) and [rows, n].
void Product(const torch::Tensor& in, const torch::Tensor& w_t, const torch::Tensor& bias,
             torch::Tensor out) {
  const std::int64_t rows = in.size(0);
  if (rows <= kSmallBatch) {
    step_kernel::SmallMatmul(rows, w_t.size(0), w_t.size(1), F(in), F(w_t),
                             bias.defined() ? F(bias) : nullptr, F(out));
  } else if (bias.defined()) {
    at::addmm_out(out, bias, in, w_t);
  } else {
    at::mm_out(out, in, w_t);
  }
}

// Whether `memory` is exactly what this ring handed out last and nobody else can see its
// storage, so the ring may be advanced in place.
bool OwnsMemory(const StepRing& ring, const Memory& memory) {
  return memory.hidden.unsafeGetTensorImpl() == ring.handed_hidden &&
         memory.valid.unsafeGetTensorImpl() == ring.handed_valid &&
         static_cast<std::int64_t>(memory.hidden._version()) == ring.hidden_version &&
         static_cast<std::int64_t>(memory.valid._version()) == ring.valid_version &&
         memory.hidden.use_count() == 1 && ring.hidden.storage().use_count() == 2;
}

}  // namespace

bool GtrxlStepper::Supports(const torch::Tensor& parameter) const {
  return parameter.device().is_cpu() && parameter.scalar_type() == torch::kFloat32 &&
         config_.memory >= 1;
}

void GtrxlStepper::Pack(torch::nn::Module& model, std::int64_t generation) {
  torch::NoGradGuard no_grad;
  const auto params = model.named_parameters(/*recurse=*/true);
  auto p = [&](const std::string& name) { return params[name].detach(); };
  const std::int64_t d = config_.d_model, h = config_.heads, w = d / h, m = config_.memory;
  const torch::Tensor rel = model.named_buffers(/*recurse=*/true)["relative_encoding"];
  layers_.clear();
  for (std::int64_t l = 0; l < config_.layers; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    LayerWeights lw;
    lw.attn_norm_w = p(b + "attn_norm.weight").contiguous();
    lw.attn_norm_b = p(b + "attn_norm.bias").contiguous();
    lw.query_t = p(b + "query.weight").t().contiguous();
    const torch::Tensor key_value = p(b + "key_value.weight");  // [2d, d]: keys, then values
    lw.key = key_value.narrow(0, 0, d).contiguous();
    lw.value = key_value.narrow(0, d, d).contiguous();
    // W_R R by distance 0..M; for the memory, distance M - c at window row c, twice over:
    // [H, w, 2M]; distance 0 (the step's own row) apart: [H, w].
    const torch::Tensor by_distance = torch::matmul(rel, p(b + "position.weight").t());
    const torch::Tensor position =
        by_distance.narrow(0, 1, m).flip(0).view({m, h, w}).permute({1, 2, 0});
    lw.position = torch::cat({position, position}, 2).contiguous();
    lw.position_own = by_distance[0].contiguous();
    lw.content_bias = p(b + "content_bias").contiguous();
    lw.position_bias = p(b + "position_bias").contiguous();
    lw.attn_out_t = p(b + "attn_out.weight").t().contiguous();
    lw.attn_out_b = p(b + "attn_out.bias").contiguous();
    lw.ff_norm_w = p(b + "ff_norm.weight").contiguous();
    lw.ff_norm_b = p(b + "ff_norm.bias").contiguous();
    lw.ff_in_t = p(b + "ff_in.weight").t().contiguous();
    lw.ff_in_b = p(b + "ff_in.bias").contiguous();
    lw.ff_out_t = p(b + "ff_out.weight").t().contiguous();
    lw.ff_out_b = p(b + "ff_out.bias").contiguous();
    // A gate as two products: [y | x] -> (r, z) pre-activations, then [y | r*x] -> candidate.
    for (const std::string gate : {"attn_gate.", "ff_gate."}) {
      const torch::Tensor from_y = p(b + gate + "from_y.weight");  // [3d, d]
      torch::Tensor first = torch::cat({from_y.narrow(0, 0, 2 * d).t(),
                                        p(b + gate + "from_x.weight").t()}, 0).contiguous();
      torch::Tensor second = torch::cat({from_y.narrow(0, 2 * d, d).t(),
                                         p(b + gate + "from_rx.weight").t()}, 0).contiguous();
      torch::Tensor bias = p(b + gate + "bias").contiguous();
      if (gate == "attn_gate.") {
        lw.attn_gate_1 = first, lw.attn_gate_2 = second, lw.attn_gate_bias = bias;
      } else {
        lw.ff_gate_1 = first, lw.ff_gate_2 = second, lw.ff_gate_bias = bias;
      }
    }
    layers_.push_back(std::move(lw));
  }
  embedding_t_ = p("embedding.weight").t().contiguous();
  embedding_b_ = p("embedding.bias").contiguous();
  final_norm_w_ = p("final_norm.weight").contiguous();
  final_norm_b_ = p("final_norm.bias").contiguous();
  heads_t_ = torch::cat({p("policy_head.weight"), p("value_head.weight")}, 0).t().contiguous();
  heads_b_ = torch::cat({p("policy_head.bias"), p("value_head.bias")}, 0).contiguous();
  packed_generation_ = generation;
}

void GtrxlStepper::RecomputeNormed(StepRing& ring) {
  // The M memory rows of every layer, layer-normed with the current weights (zeros where
  // invalid): what the reference projects into keys and values at every step.
  const std::int64_t d = config_.d_model, m = config_.memory, e = ring.envs;
  torch::Tensor normed = torch::empty({m * e, d});
  for (std::int64_t l = 0; l < config_.layers; ++l) {
    const LayerWeights& lw = layers_[l];
    const torch::Tensor rows = ring.hidden[l].narrow(0, ring.write + 1, m);  // oldest first
    step_kernel::LayerNorm(m * e, d, F(rows), F(lw.attn_norm_w), F(lw.attn_norm_b), F(normed));
    ring.normed[l].copy_(normed.view({m, e, d}).transpose(0, 1));
  }
  ring.next = 0;
}

void GtrxlStepper::Gate(std::int64_t envs, const torch::Tensor& gate_1, const torch::Tensor& gate_2,
                        const torch::Tensor& bias, const torch::Tensor& x,
                        const torch::Tensor& out, StepRing& ring) {
  // ring.projected holds the sublayer's output before its relu.
  const std::int64_t d = config_.d_model;
  step_kernel::ReluThenConcat(envs, d, F(ring.projected), F(x), F(ring.cat));
  Product(ring.cat, gate_1, torch::Tensor(), ring.pre);
  step_kernel::GateMiddle(envs, d, F(ring.pre), F(x), F(bias), F(ring.cat));
  Product(ring.cat, gate_2, torch::Tensor(), ring.candidate);
  step_kernel::GateEnd(envs, d, F(ring.candidate), F(ring.pre), F(x), F(out));
}

StepOutput GtrxlStepper::Step(torch::nn::Module& model, std::int64_t generation,
                              const torch::Tensor& obs, const torch::Tensor& first,
                              Memory& memory) {
  torch::NoGradGuard no_grad;
  const std::int64_t e = obs.size(0), d = config_.d_model, h = config_.heads, w = d / h;
  const std::int64_t m = config_.memory, c = m + 1, layers = config_.layers;
  if (packed_generation_ != generation) Pack(model, generation);

  std::shared_ptr<StepRing> ring = memory.ring;
  if (!ring || ring->envs != e || !OwnsMemory(*ring, memory)) {
    // A memory the ring did not hand out (new, copied, edited): copy it into a fresh ring.
    ring = std::make_shared<StepRing>();
    ring->envs = e;
    ring->hidden = torch::zeros({layers, 2 * c, e, d});
    ring->normed = torch::zeros({layers, e, m, d});
    const torch::Tensor kept = memory.hidden.to(torch::kFloat32).masked_fill(
        memory.valid.logical_not().view({1, m, e, 1}), 0.0);
    ring->hidden.narrow(1, 1, m).copy_(kept);
    ring->hidden.narrow(1, c + 1, m).copy_(kept);
    const torch::Tensor valid = memory.valid.to(torch::kUInt8).contiguous();
    ring->valid.assign(valid.data_ptr<std::uint8_t>(), valid.data_ptr<std::uint8_t>() + m * e);
    auto buffer = [&](std::int64_t width) { return torch::empty({e, width}); };
    ring->x = buffer(d), ring->y = buffer(d), ring->normed_row = buffer(d), ring->query = buffer(d);
    ring->attended = buffer(d), ring->projected = buffer(d), ring->cat = buffer(2 * d);
    ring->pre = buffer(2 * d), ring->candidate = buffer(d), ring->hidden_ff = buffer(config_.d_ff);
    ring->memory_ok.resize(static_cast<std::size_t>(e * m));
    ring->scratch.resize(static_cast<std::size_t>(step_kernel::AttentionScratch(h, w, m)));
  }
  if (ring->generation != generation) {
    RecomputeNormed(*ring);
    ring->generation = generation;
  }

  // Resets: the env's column forgets everything, as in the reference.
  const torch::Tensor first_u8 = first.to(torch::kUInt8).contiguous();
  const std::uint8_t* reset = first_u8.data_ptr<std::uint8_t>();
  for (std::int64_t env = 0; env < e; ++env) {
    if (!reset[env]) continue;
    for (std::int64_t slot = 0; slot < m; ++slot) ring->valid[slot * e + env] = 0;
    for (std::int64_t l = 0; l < layers; ++l) {
      for (std::int64_t col = 0; col < 2 * c; ++col) {
        std::memset(F(ring->hidden) + ((l * 2 * c + col) * e + env) * d, 0, d * sizeof(float));
      }
    }
  }
  for (std::int64_t env = 0; env < e; ++env) {
    for (std::int64_t slot = 0; slot < m; ++slot) {
      ring->memory_ok[env * m + slot] = ring->valid[slot * e + env];
    }
  }

  const std::int64_t write = ring->write;
  Product(obs.to(torch::kFloat32).contiguous(), embedding_t_, embedding_b_, ring->x);
  for (std::int64_t l = 0; l < layers; ++l) {
    const LayerWeights& lw = layers_[l];
    for (const std::int64_t col : {write, write + c}) {
      std::memcpy(F(ring->hidden) + (l * 2 * c + col) * e * d, F(ring->x), e * d * sizeof(float));
    }
    step_kernel::LayerNorm(e, d, F(ring->x), F(lw.attn_norm_w), F(lw.attn_norm_b),
                           F(ring->normed_row));
    Product(ring->normed_row, lw.query_t, torch::Tensor(), ring->query);
    step_kernel::Attention({e, h, w, m, ring->next, d, F(ring->query), F(ring->normed_row),
                            F(ring->normed[l]), F(lw.key), F(lw.value), F(lw.position),
                            F(lw.position_own), F(lw.content_bias), F(lw.position_bias),
                            ring->memory_ok.data(), F(ring->attended), ring->scratch.data()});
    Product(ring->attended, lw.attn_out_t, lw.attn_out_b, ring->projected);
    Gate(e, lw.attn_gate_1, lw.attn_gate_2, lw.attn_gate_bias, ring->x, ring->y, *ring);
    step_kernel::LayerNorm(e, d, F(ring->y), F(lw.ff_norm_w), F(lw.ff_norm_b),
                           F(ring->normed_row));
    Product(ring->normed_row, lw.ff_in_t, lw.ff_in_b, ring->hidden_ff);
    step_kernel::Relu(e * config_.d_ff, F(ring->hidden_ff));
    Product(ring->hidden_ff, lw.ff_out_t, lw.ff_out_b, ring->projected);
    Gate(e, lw.ff_gate_1, lw.ff_gate_2, lw.ff_gate_bias, ring->y, ring->x, *ring);
  }
  step_kernel::LayerNorm(e, d, F(ring->x), F(final_norm_w_), F(final_norm_b_),
                         F(ring->normed_row));
  const torch::Tensor heads = torch::empty({e, heads_t_.size(1)});  // [E, A + 1]
  Product(ring->normed_row, heads_t_, heads_b_, heads);

  // Slots age by one; the new row is valid. Hand out the new window as the memory.
  for (std::int64_t slot = 0; slot + 1 < m; ++slot) {
    std::memcpy(&ring->valid[slot * e], &ring->valid[(slot + 1) * e], e);
  }
  std::memset(&ring->valid[(m - 1) * e], 1, e);
  ring->write = (write + 1) % c;
  ring->next = (ring->next + 1) % m;
  torch::Tensor valid = torch::empty({m, e}, torch::kBool);
  std::memcpy(valid.data_ptr<bool>(), ring->valid.data(), m * e);
  memory.hidden = torch::Tensor();  // release the old view before counting storage users
  memory.hidden = ring->hidden.narrow(1, ring->write + 1, m);
  memory.valid = valid;
  memory.cache = ring->normed;
  memory.cache_generation = -1;  // the ring's, not the reference path's
  ring->handed_hidden = memory.hidden.unsafeGetTensorImpl();
  ring->handed_valid = memory.valid.unsafeGetTensorImpl();
  ring->hidden_version = static_cast<std::int64_t>(memory.hidden._version());
  ring->valid_version = static_cast<std::int64_t>(memory.valid._version());
  memory.ring = std::move(ring);
  const std::int64_t a = config_.num_actions;
  return {heads.narrow(1, 0, a).contiguous(), heads.select(1, a).contiguous()};
}

}  // namespace colony
