// BoundedQueue: a first-in, first-out queue of at most `capacity` items between threads, that
// can be closed. It carries a learner's decoded trajectories from its receive thread to its
// trainer (learner/receiver.h); the bound is what turns a slow trainer into back-pressure.
//
// Blocking and close behaviour:
//   * Push() blocks while the queue is full; TryPush() never blocks and fails when full.
//   * Pop() blocks while the queue is empty, at most `wait`; it says whether it got an item,
//     ran out of time, or found the queue closed.
//   * Close() is final and wakes every waiter: pending and future Push/TryPush calls fail
//     (the item is not added), pending and future Pop calls return kClosed. Items still queued
//     are no longer handed out by Pop; Drain() takes them, so that an owner can count them.
// Every member is safe to call from any thread. A capacity of 0 is taken as 1.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace colony {

enum class PopResult { kItem, kTimeout, kClosed };

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Waits for room; false (and `item` untouched) if the queue is or becomes closed.
  bool Push(T& item) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [this] { return closed_ || items_.size() < capacity_; });
    return AddLocked(item, lock);
  }
  bool Push(T&& item) { return Push(item); }

  // Adds `item` only if there is room now; false (and `item` untouched) if full or closed.
  bool TryPush(T& item) {
    std::unique_lock<std::mutex> lock(mu_);
    if (items_.size() >= capacity_) return false;
    return AddLocked(item, lock);
  }
  bool TryPush(T&& item) { return TryPush(item); }

  // The oldest item into *out, waiting at most `wait` for one to arrive.
  PopResult Pop(T* out, std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait_for(lock, wait, [this] { return closed_ || !items_.empty(); });
    if (closed_) return PopResult::kClosed;
    if (items_.empty()) return PopResult::kTimeout;
    *out = std::move(items_.front());
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return PopResult::kItem;
  }

  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  // Removes and returns every queued item, oldest first (what Close() left behind).
  std::vector<T> Drain() {
    std::vector<T> left;
    {
      std::lock_guard<std::mutex> lock(mu_);
      left.reserve(items_.size());
      for (T& item : items_) left.push_back(std::move(item));
      items_.clear();
    }
    not_full_.notify_all();
    return left;
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }
  bool full() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size() >= capacity_;
  }
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }
  std::size_t capacity() const { return capacity_; }

 private:
  bool AddLocked(T& item, std::unique_lock<std::mutex>& lock) {
    if (closed_) return false;
    items_.push_back(std::move(item));
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  const std::size_t capacity_;
  mutable std::mutex mu_;  // guards items_ and closed_
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace colony
