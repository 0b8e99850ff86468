// The first MPI test (nccl-tests' "verifiable" idea): every payload is a known function of the
// sender's rank and the element index, so each receiver checks the exact bytes it got.
//   * point to point around a ring, with sizes that differ per rank;
//   * MpiCollective all-reduce of a LibTorch gradient buffer produced by a real backward pass,
//     checked exactly (every value is a small integer, so float sums are exact);
//   * broadcast of a weight buffer from a non-zero root.
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/torch.h>

#include <chrono>
#include <vector>

#include "common/base/check.h"
#include "learner/collective.h"

namespace colony {
namespace {

constexpr auto kTimeout = std::chrono::seconds(60);

int WorldRank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int WorldSize() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// Element i of the message that `rank` sends.
std::int64_t Payload(int rank, std::int64_t i) { return rank * 1'000'003LL + i * 7 + 1; }
std::int64_t PayloadLength(int rank) { return 1000 + 37 * rank; }

TEST(MpiRing, ExactPayloadsArriveFromTheLeftNeighbour) {
  const int rank = WorldRank();
  const int size = WorldSize();
  ASSERT_GE(size, 2) << "run under mpirun with at least 2 ranks";
  const int right = (rank + 1) % size;
  const int left = (rank + size - 1) % size;

  std::vector<std::int64_t> out(PayloadLength(rank));
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(out.size()); ++i) {
    out[i] = Payload(rank, i);
  }
  std::vector<std::int64_t> in(PayloadLength(left), -1);
  MPI_Status status;
  MPI_CHECK(MPI_Sendrecv(out.data(), static_cast<int>(out.size()), MPI_INT64_T, right, /*tag=*/7,
                         in.data(), static_cast<int>(in.size()), MPI_INT64_T, left, /*tag=*/7,
                         MPI_COMM_WORLD, &status));
  int received = 0;
  MPI_CHECK(MPI_Get_count(&status, MPI_INT64_T, &received));
  ASSERT_EQ(received, PayloadLength(left));
  EXPECT_EQ(status.MPI_SOURCE, left);
  for (std::int64_t i = 0; i < received; ++i) {
    ASSERT_EQ(in[i], Payload(left, i)) << "element " << i << " from rank " << left;
  }
}

// One contiguous buffer holding every parameter's gradient, as the learner will all-reduce it.
torch::Tensor FlatGradients(torch::nn::Module& module) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : module.parameters()) grads.push_back(p.grad().reshape({-1}));
  return torch::cat(grads).contiguous();
}

TEST(MpiCollective, AllReducesATorchGradientBufferExactly) {
  const int rank = WorldRank();
  const int size = WorldSize();
  torch::manual_seed(0);
  torch::nn::Linear layer(/*in_features=*/5, /*out_features=*/3);
  // loss = sum(layer(x)) gives dL/dW[o][i] = sum_b x[b][i] and dL/db[o] = batch: with integer x
  // the gradients are integers, so their float sum over ranks is exact.
  const auto x = torch::arange(10, torch::kFloat).reshape({2, 5}) + static_cast<float>(rank);
  layer->forward(x).sum().backward();
  torch::Tensor flat = FlatGradients(*layer);
  ASSERT_EQ(flat.numel(), 3 * 5 + 3);

  auto collective = MakeMpiCollective(MPI_COMM_WORLD, kTimeout);
  EXPECT_EQ(collective->name(), "mpi");
  collective->AllReduceSum(flat.data_ptr<float>(), static_cast<std::size_t>(flat.numel()));

  // sum over ranks r of (x0[i] + r) + (x1[i] + r) = size*(i + i+5) + 2*sum(r).
  const float rank_sum = static_cast<float>(size * (size - 1) / 2);
  const auto accessor = flat.accessor<float, 1>();
  for (int o = 0; o < 3; ++o) {
    for (int i = 0; i < 5; ++i) {
      const float expected = static_cast<float>(size * (2 * i + 5)) + 2 * rank_sum;
      ASSERT_EQ(accessor[o * 5 + i], expected) << "weight gradient [" << o << "][" << i << "]";
    }
  }
  for (int o = 0; o < 3; ++o) {
    ASSERT_EQ(accessor[15 + o], static_cast<float>(2 * size)) << "bias gradient " << o;
  }
}

TEST(MpiCollective, BroadcastsWeightsFromANonZeroRoot) {
  const int rank = WorldRank();
  const int root = WorldSize() - 1;
  std::vector<float> weights(4096);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    weights[i] = rank == root ? static_cast<float>(i) * 0.5f : -1.0f;
  }
  auto collective = MakeMpiCollective(MPI_COMM_WORLD, kTimeout);
  collective->Broadcast(weights.data(), weights.size(), root);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    ASSERT_EQ(weights[i], static_cast<float>(i) * 0.5f) << "element " << i;
  }
}

}  // namespace
}  // namespace colony
