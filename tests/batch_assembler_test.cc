// BatchAssembler (learner/batch_assembler.h): trajectories of E columns in, batches of exactly
// B columns out, in arrival order, whatever E and B are. Every column of every batch is
// checked against the column it came from, tensor by tensor (memory included), so a column
// that is lost, repeated, reordered or torn between two tensors shows up.
#include "learner/batch_assembler.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "common/wire/wire.h"  // MakeRandomTrajectory

namespace colony {
namespace {


// T=3 steps, E columns, with memory: every tensor has a column axis the assembler must respect.
Trajectory Columns(std::int64_t columns, std::uint64_t seed) {
  return MakeRandomTrajectory(TrajectoryGeometry{3, columns, 2, 3, 1, 2, 4}, seed);
}

// Column `c` of `got` holds exactly column `k` of `source`, in every tensor.
void ExpectColumn(const Trajectory& got, std::int64_t c, const Trajectory& source,
                  std::int64_t k) {
  auto same = [](const torch::Tensor& a, const torch::Tensor& b) { return torch::equal(a, b); };
  EXPECT_TRUE(same(got.obs.select(1, c), source.obs.select(1, k)));
  EXPECT_TRUE(same(got.first.select(1, c), source.first.select(1, k)));
  EXPECT_TRUE(same(got.actions.select(1, c), source.actions.select(1, k)));
  EXPECT_TRUE(same(got.rewards.select(1, c), source.rewards.select(1, k)));
  EXPECT_TRUE(same(got.terminated.select(1, c), source.terminated.select(1, k)));
  EXPECT_TRUE(same(got.truncated.select(1, c), source.truncated.select(1, k)));
  EXPECT_TRUE(same(got.truncation_values.select(1, c), source.truncation_values.select(1, k)));
  EXPECT_TRUE(same(got.behaviour_logits.select(1, c), source.behaviour_logits.select(1, k)));
  EXPECT_TRUE(same(got.policy_version.select(1, c), source.policy_version.select(1, k)));
  EXPECT_TRUE(same(got.initial_memory.hidden.select(2, c),
                   source.initial_memory.hidden.select(2, k)));
  EXPECT_TRUE(same(got.initial_memory.valid.select(1, c),
                   source.initial_memory.valid.select(1, k)));
}

// Feeds trajectories of E columns to an assembler of B columns and checks that the batches
// are the arriving columns, in order, B at a time.
void CheckArrivalOrder(std::int64_t e, std::int64_t b, int trajectories) {
  SCOPED_TRACE("E=" + std::to_string(e) + " B=" + std::to_string(b));
  BatchAssembler assembler(b);
  std::vector<std::pair<const Trajectory*, std::int64_t>> arrived;  // (source, column)
  std::vector<Trajectory> sources;
  sources.reserve(static_cast<std::size_t>(trajectories));
  std::size_t next_column = 0;
  for (int i = 0; i < trajectories; ++i) {
    sources.push_back(Columns(e, 100 + static_cast<std::uint64_t>(i)));
    for (std::int64_t k = 0; k < e; ++k) arrived.emplace_back(&sources.back(), k);
    assembler.Add(sources.back());
    EXPECT_EQ(assembler.columns(), static_cast<std::int64_t>(arrived.size() - next_column));
    while (assembler.Ready()) {
      const Trajectory batch = assembler.Take();
      ASSERT_EQ(batch.columns(), b);
      ASSERT_EQ(batch.steps(), 3);
      for (std::int64_t c = 0; c < b; ++c) {
        const auto& [source, k] = arrived[next_column++];
        ExpectColumn(batch, c, *source, k);
      }
    }
    EXPECT_LT(assembler.columns(), b);
  }
}

TEST(BatchAssembler, BatchesAreTheArrivingColumnsInOrderForAnyEAndB) {
  CheckArrivalOrder(/*e=*/4, /*b=*/4, /*trajectories=*/3);  // one trajectory per batch
  CheckArrivalOrder(/*e=*/2, /*b=*/6, /*trajectories=*/7);  // several per batch
  CheckArrivalOrder(/*e=*/3, /*b=*/4, /*trajectories=*/8);  // split across batches
  CheckArrivalOrder(/*e=*/8, /*b=*/3, /*trajectories=*/3);  // several batches per trajectory
}

TEST(BatchAssembler, ReadyOnlyWithEnoughColumns) {
  BatchAssembler assembler(/*batch_columns=*/5);
  EXPECT_FALSE(assembler.Ready());
  assembler.Add(Columns(3, 1));
  EXPECT_FALSE(assembler.Ready());
  EXPECT_EQ(assembler.columns(), 3);
  assembler.Add(Columns(3, 2));
  EXPECT_TRUE(assembler.Ready());
  EXPECT_EQ(assembler.Take().columns(), 5);
  EXPECT_EQ(assembler.columns(), 1);
  EXPECT_FALSE(assembler.Ready());
}

TEST(BatchAssembler, ABatchSharesNoStorageWithWhatIsLeft) {
  BatchAssembler assembler(/*batch_columns=*/2);
  const Trajectory source = Columns(3, 5);
  assembler.Add(source);
  Trajectory batch = assembler.Take();
  batch.rewards.fill_(1234.0);  // the trainer may write into its batch
  assembler.Add(Columns(1, 6));
  const Trajectory next = assembler.Take();
  ExpectColumn(next, 0, source, 2);
}

}  // namespace
}  // namespace colony
