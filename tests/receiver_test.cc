// Receiver (learner/receiver.h) under mpirun with 2 ranks: rank 0 is a learner with its
// receive thread, rank 1 plays its actor by hand, sending real encoded trajectories with exactly
// predictable contents (tests/wire_test_util.h). Checks: trajectories arrive decoded, in order
// and bit-exact; a malformed one is dropped and counted; the actor gets the published weights
// and then "stop"; Shutdown() ends orderly with exact counters; and Shutdown() wakes a trainer
// that is blocked in Pop() (before it waited out its full timeout).
//
// The error path of the thread (an exception reaches Pop()/Shutdown() with its message) is the
// same StartThread + BoundedQueue code that tests/first_error_test.cc drives without MPI.
#include "learner/receiver.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <future>
#include <mutex>
#include <variant>
#include <vector>

#include "common/base/check.h"
#include "common/base/runtime.h"
#include "common/wire/wire.h"
#include "tests/wire_test_util.h"

namespace colony {
namespace {

using std::chrono::milliseconds;
using wire_test::Bytes;
using wire_test::ExpectSameTrajectory;
using wire_test::kSmall;

constexpr milliseconds kTimeout{60'000};  // every wait here is bounded by this
constexpr int kLearner = 0;
constexpr int kActor = 1;

RoleLayout Layout() {
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return RoleLayout(rank, size, /*learners=*/1);
}

// The actor's side, written against MPI directly as actors/actor_runtime.cc does.
void Send(const Bytes& bytes, int tag) {
  MPI_Request request = MPI_REQUEST_NULL;
  {
    std::lock_guard<std::mutex> lock(MpiMutex());
    MPI_CHECK(MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, kLearner, tag,
                        MPI_COMM_WORLD, &request));
  }
  WaitBounded(&request, kTimeout, "sending to the learner in receiver_test");
}

Bytes ReceiveControl() {
  Bytes bytes;
  int from = kLearner;
  PollUntil([&] { return ReceiveIfArrived(kLearner, kTagControl, &bytes, &from); }, kTimeout,
            "receiver_test", "actor", "waiting for a control message from the learner");
  return bytes;
}

MessageKind KindOf(const Bytes& bytes) {
  const auto kind = PeekKind(bytes);
  EXPECT_TRUE(std::holds_alternative<MessageKind>(kind)) << std::get<std::string>(kind);
  return std::holds_alternative<MessageKind>(kind) ? std::get<MessageKind>(kind)
                                                   : MessageKind::kTrajectory;
}

// After "stop", an actor says "done" on the trajectory channel.
void AnswerStop() {
  EXPECT_EQ(KindOf(ReceiveControl()), MessageKind::kStop);
  Bytes done;
  EncodeStop(done);
  Send(done, kTagTrajectory);
}

constexpr int kTrajectories = 5;
constexpr std::uint64_t kSeed = 100;

TEST(Receiver, DeliversTrajectoriesInOrderAndEndsOrderly) {
  const RoleLayout layout = Layout();
  ASSERT_EQ(layout.actors(), 1) << "run with mpirun -n 2";
  if (layout.is_learner()) {
    Receiver receiver(layout, kSmall, /*queue_capacity=*/2, kTimeout);
    receiver.PublishWeights(torch::arange(6, torch::kFloat), /*version=*/7);
    for (int i = 0; i < kTrajectories; ++i) {
      DecodedTrajectory got;
      ASSERT_TRUE(receiver.Pop(&got, kTimeout)) << "trajectory " << i;
      EXPECT_EQ(got.actor_rank, kActor);
      EXPECT_EQ(got.sequence, static_cast<std::uint64_t>(i));
      ExpectSameTrajectory(got.trajectory, MakeRandomTrajectory(kSmall, kSeed + i));
      EXPECT_LE(receiver.queue_depth(), 2u) << "the queue is bounded";
    }
    receiver.Shutdown();
    const ReceiverCounters counters = receiver.counters();
    EXPECT_EQ(counters.received, kTrajectories);
    EXPECT_EQ(counters.malformed, 1);
    EXPECT_EQ(counters.foreign, 0);
    EXPECT_EQ(counters.after_stop, 0);
    EXPECT_EQ(counters.left_in_queue, 0);
    EXPECT_EQ(counters.weights_sent, 1);
    EXPECT_EQ(receiver.queue_depth(), 0u);
  } else {
    // Weights first: the learner published version 7 before any trajectory.
    const Bytes weights = ReceiveControl();
    ASSERT_EQ(KindOf(weights), MessageKind::kWeights);
    const auto decoded = DecodeWeights(weights, /*expected_count=*/6);
    ASSERT_TRUE(std::holds_alternative<DecodedWeights>(decoded));
    EXPECT_EQ(std::get<DecodedWeights>(decoded).version, 7);
    EXPECT_TRUE(torch::equal(std::get<DecodedWeights>(decoded).flat,
                             torch::arange(6, torch::kFloat)));
    // A message with a format version nobody speaks: dropped and counted, not queued.
    Bytes bytes;
    EncodeTrajectory(MakeRandomTrajectory(kSmall, 99), layout.rank(), /*sequence=*/0, bytes);
    bytes[4] = std::byte{0x7f};
    Send(bytes, kTagTrajectory);
    for (int i = 0; i < kTrajectories; ++i) {
      EncodeTrajectory(MakeRandomTrajectory(kSmall, kSeed + i), layout.rank(),
                       static_cast<std::uint64_t>(i), bytes);
      Send(bytes, kTagTrajectory);
    }
    AnswerStop();
  }
}

TEST(Receiver, ShutdownWakesATrainerBlockedInPop) {
  const RoleLayout layout = Layout();
  if (layout.is_learner()) {
    Receiver receiver(layout, kSmall, /*queue_capacity=*/2, kTimeout);
    std::promise<void> started;
    auto popped = std::async(std::launch::async, [&] {
      started.set_value();
      DecodedTrajectory got;
      // An hour: only Shutdown() can end this wait within the test's time.
      return receiver.Pop(&got, milliseconds(3'600'000));
    });
    started.get_future().wait();
    EXPECT_EQ(popped.wait_for(milliseconds(20)), std::future_status::timeout)
        << "no trajectory was sent: Pop must block";
    receiver.Shutdown();
    ASSERT_EQ(popped.wait_for(kTimeout), std::future_status::ready)
        << "Shutdown() must wake the blocked Pop";
    EXPECT_FALSE(popped.get());
    EXPECT_EQ(receiver.counters().received, 0);
  } else {
    AnswerStop();
  }
}

}  // namespace
}  // namespace colony
