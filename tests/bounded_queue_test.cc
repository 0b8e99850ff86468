// BoundedQueue (common/base/bounded_queue.h): order, capacity, and the blocking and close contract.
// Blocking is shown with notifications, not sleeps: a waiter runs on another thread and hands
// its result back through a future; "still blocked" is a future that is not ready, and the
// wake-up under test (Close, a Pop that makes room) is the only thing that can make it ready,
// since every wait in these tests is far longer than the test's own timeout.
#include "common/base/bounded_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace colony {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kForever{3'600'000};  // longer than CTest lets the test run
constexpr milliseconds kBrief{20};           // a blocked call must still be blocked after this
constexpr milliseconds kWakeBound{30'000};   // a woken call must return within this

template <typename T>
bool Ready(std::future<T>& future, milliseconds wait) {
  return future.wait_for(wait) == std::future_status::ready;
}

struct Popped {
  PopResult result;
  int item;
};

// A Pop(kForever) on a thread of its own; returns once that thread is about to call it.
std::future<Popped> PopInBackground(BoundedQueue<int>& queue) {
  std::promise<void> started;
  auto started_future = started.get_future();
  auto popped = std::async(std::launch::async, [&queue, started = std::move(started)]() mutable {
    started.set_value();
    Popped result{PopResult::kTimeout, -1};
    result.result = queue.Pop(&result.item, kForever);
    return result;
  });
  started_future.wait();
  return popped;
}

TEST(BoundedQueue, HandsOutItemsInOrder) {
  BoundedQueue<int> queue(/*capacity=*/3);
  EXPECT_TRUE(queue.Push(1));
  EXPECT_TRUE(queue.TryPush(2));
  EXPECT_TRUE(queue.Push(3));
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_TRUE(queue.full());
  int item = 0;
  for (int expected : {1, 2, 3}) {
    ASSERT_EQ(queue.Pop(&item, milliseconds(0)), PopResult::kItem);
    EXPECT_EQ(item, expected);
  }
  EXPECT_EQ(queue.Pop(&item, milliseconds(1)), PopResult::kTimeout);
}

TEST(BoundedQueue, TryPushOnAFullQueueFailsAndKeepsTheItem) {
  BoundedQueue<std::string> queue(/*capacity=*/1);
  ASSERT_TRUE(queue.TryPush(std::string("first")));
  std::string second = "second";
  EXPECT_FALSE(queue.TryPush(second));
  EXPECT_EQ(second, "second") << "a refused item must not be moved from";
  EXPECT_EQ(queue.size(), 1u);
}

TEST(BoundedQueue, PopBlockedOnAnEmptyQueueIsWokenByClose) {
  BoundedQueue<int> queue(/*capacity=*/2);
  auto popped = PopInBackground(queue);
  EXPECT_FALSE(Ready(popped, kBrief)) << "Pop on an empty queue must block";
  queue.Close();
  ASSERT_TRUE(Ready(popped, kWakeBound)) << "Close() must wake a blocked Pop";
  EXPECT_EQ(popped.get().result, PopResult::kClosed);
}

TEST(BoundedQueue, PopBlockedOnAnEmptyQueueGetsThePushedItem) {
  BoundedQueue<int> queue(/*capacity=*/2);
  auto popped = PopInBackground(queue);
  EXPECT_FALSE(Ready(popped, kBrief));
  ASSERT_TRUE(queue.Push(42));
  ASSERT_TRUE(Ready(popped, kWakeBound));
  const Popped got = popped.get();
  EXPECT_EQ(got.result, PopResult::kItem);
  EXPECT_EQ(got.item, 42);
}

TEST(BoundedQueue, PushOnAFullQueueUnblocksWhenAPopMakesRoom) {
  BoundedQueue<int> queue(/*capacity=*/1);
  ASSERT_TRUE(queue.Push(1));
  std::promise<void> started;
  auto pushed = std::async(std::launch::async, [&] {
    started.set_value();
    return queue.Push(2);
  });
  started.get_future().wait();
  EXPECT_FALSE(Ready(pushed, kBrief)) << "Push on a full queue must block";
  EXPECT_EQ(queue.size(), 1u);
  int item = 0;
  ASSERT_EQ(queue.Pop(&item, milliseconds(0)), PopResult::kItem);
  EXPECT_EQ(item, 1);
  ASSERT_TRUE(Ready(pushed, kWakeBound)) << "a Pop must make room for the blocked Push";
  EXPECT_TRUE(pushed.get());
  ASSERT_EQ(queue.Pop(&item, milliseconds(0)), PopResult::kItem);
  EXPECT_EQ(item, 2);
}

TEST(BoundedQueue, PushBlockedOnAFullQueueFailsOnCloseAndKeepsTheItem) {
  BoundedQueue<std::string> queue(/*capacity=*/1);
  ASSERT_TRUE(queue.Push(std::string("first")));
  std::string second = "second";
  std::promise<void> started;
  auto pushed = std::async(std::launch::async, [&] {
    started.set_value();
    return queue.Push(second);
  });
  started.get_future().wait();
  EXPECT_FALSE(Ready(pushed, kBrief));
  queue.Close();
  ASSERT_TRUE(Ready(pushed, kWakeBound)) << "Close() must wake a blocked Push";
  EXPECT_FALSE(pushed.get());
  EXPECT_EQ(second, "second");
}

TEST(BoundedQueue, CloseWakesEveryWaiter) {
  BoundedQueue<int> queue(/*capacity=*/1);
  std::vector<std::future<Popped>> popped;
  for (int i = 0; i < 4; ++i) popped.push_back(PopInBackground(queue));
  queue.Close();
  for (auto& future : popped) {
    ASSERT_TRUE(Ready(future, kWakeBound));
    EXPECT_EQ(future.get().result, PopResult::kClosed);
  }
}

TEST(BoundedQueue, AfterCloseNothingGoesInOrOutButDrainReturnsWhatWasLeft) {
  BoundedQueue<int> queue(/*capacity=*/4);
  ASSERT_TRUE(queue.Push(1));
  ASSERT_TRUE(queue.Push(2));
  queue.Close();
  EXPECT_TRUE(queue.closed());
  EXPECT_FALSE(queue.Push(3));
  EXPECT_FALSE(queue.TryPush(3));
  int item = 0;
  EXPECT_EQ(queue.Pop(&item, kForever), PopResult::kClosed) << "returns at once, items or not";
  EXPECT_EQ(queue.Drain(), (std::vector<int>{1, 2}));
  EXPECT_EQ(queue.size(), 0u);
}

// Producers and consumers at once: every item arrives exactly once, and the queue never holds
// more than its capacity.
TEST(BoundedQueue, ManyProducersAndConsumersLoseNothing) {
  constexpr int kProducers = 3, kPerProducer = 2000, kConsumers = 2;
  BoundedQueue<int> queue(/*capacity=*/4);
  std::vector<std::future<void>> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.push_back(std::async(std::launch::async, [&queue, p] {
      for (int i = 0; i < kPerProducer; ++i) ASSERT_TRUE(queue.Push(p * kPerProducer + i));
    }));
  }
  std::vector<std::future<std::vector<int>>> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.push_back(std::async(std::launch::async, [&queue] {
      std::vector<int> got;
      int item = 0;
      while (queue.Pop(&item, kForever) == PopResult::kItem) {
        EXPECT_LE(queue.size(), queue.capacity());
        got.push_back(item);
      }
      return got;
    }));
  }
  for (auto& producer : producers) producer.get();
  // Every item is pushed; wait (bounded) until the consumers have taken them all, then close.
  const auto deadline = std::chrono::steady_clock::now() + kWakeBound;
  while (queue.size() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  queue.Close();
  std::vector<int> seen(kProducers * kPerProducer, 0);
  for (auto& consumer : consumers) {
    for (int item : consumer.get()) ++seen[static_cast<std::size_t>(item)];
  }
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "item " << i;
}

}  // namespace
}  // namespace colony
