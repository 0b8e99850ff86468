// FirstError and StartThread (common/base/first_error.h): a worker's exception reaches its owner's
// thread with its message instead of terminating the process, the first of several errors is
// the one kept, and a worker that fails closes its queue so that an owner blocked in Pop() wakes
// and re-raises — exactly how the learner's receive thread (learner/receiver.h) reports.
#include "common/base/first_error.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <string>

#include "common/base/bounded_queue.h"

namespace colony {
namespace {

using std::chrono::milliseconds;

// The message of what `call` throws, or "" if it returns.
template <typename F>
std::string ThrownMessage(F&& call) {
  try {
    call();
  } catch (const std::exception& error) {
    return error.what();
  }
  return "";
}

TEST(FirstError, KeepsTheFirstErrorOnly) {
  FirstError errors;
  EXPECT_FALSE(errors.failed());
  EXPECT_EQ(ThrownMessage([&] { errors.RethrowIfFailed(); }), "");
  errors.Capture(std::make_exception_ptr(std::runtime_error("the cause")));
  errors.Capture(std::make_exception_ptr(std::runtime_error("a consequence")));
  EXPECT_TRUE(errors.failed());
  EXPECT_EQ(ThrownMessage([&] { errors.RethrowIfFailed(); }), "the cause");
  EXPECT_EQ(ThrownMessage([&] { errors.RethrowIfFailed(); }), "the cause") << "kept, not taken";
}

TEST(FirstError, StartThreadKeepsTheWorkersErrorWithItsNameAndRunsOnExit) {
  FirstError errors;
  bool exited = false;
  std::thread worker = StartThread(
      "learner rank 0: receive thread", &errors,
      [] { throw std::runtime_error("decoder exploded at byte 42"); },
      [&] { exited = true; });
  worker.join();  // the process is still alive: the exception did not escape the thread
  EXPECT_TRUE(exited);
  EXPECT_EQ(ThrownMessage([&] { errors.RethrowIfFailed(); }),
            "learner rank 0: receive thread failed: decoder exploded at byte 42");
}

TEST(FirstError, NonStandardExceptionsAreReportedToo) {
  FirstError errors;
  std::thread worker = StartThread("worker", &errors, [] { throw 7; }, nullptr);
  worker.join();
  EXPECT_EQ(ThrownMessage([&] { errors.RethrowIfFailed(); }),
            "worker failed: unknown exception");
}

TEST(FirstError, AWorkerThatSucceedsLeavesNoError) {
  FirstError errors;
  int work = 0;
  std::thread worker = StartThread("worker", &errors, [&] { work = 1; }, nullptr);
  worker.join();
  EXPECT_EQ(work, 1);
  EXPECT_FALSE(errors.failed());
}

// The receiver's pattern: the owner is blocked in Pop() on the worker's queue when the worker
// fails; the worker's on_exit closes the queue, the owner wakes and re-raises the error.
TEST(FirstError, OwnerBlockedInPopWakesAndReRaisesTheWorkersError) {
  BoundedQueue<int> queue(/*capacity=*/2);
  FirstError errors;
  std::promise<void> owner_waiting;
  auto owner_waiting_future = owner_waiting.get_future();
  std::thread worker = StartThread(
      "learner rank 0: receive thread", &errors,
      [&] {
        ASSERT_TRUE(queue.Push(1));
        owner_waiting_future.wait();  // fail only once the owner waits on the empty queue
        throw std::runtime_error("MPI message of 12 bytes: expected at least 16");
      },
      [&] { queue.Close(); });

  int item = 0;
  ASSERT_EQ(queue.Pop(&item, milliseconds(30'000)), PopResult::kItem);
  EXPECT_EQ(item, 1);
  auto popped = std::async(std::launch::async, [&] {
    int next = 0;
    // An hour: only the worker's Close() can end this wait within the test's time.
    return queue.Pop(&next, milliseconds(3'600'000));
  });
  owner_waiting.set_value();
  ASSERT_EQ(popped.wait_for(milliseconds(30'000)), std::future_status::ready);
  EXPECT_EQ(popped.get(), PopResult::kClosed);
  EXPECT_EQ(ThrownMessage([&] { errors.RethrowIfFailed(); }),
            "learner rank 0: receive thread failed: MPI message of 12 bytes: expected at least 16");
  worker.join();
}

}  // namespace
}  // namespace colony
