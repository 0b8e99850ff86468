// The learner's communication thread (learner/receiver.h).
#include "learner/receiver.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "common/base/check.h"

namespace colony {
namespace {

using Clock = std::chrono::steady_clock;

// Logs the first few drops of each kind in full, then one in a hundred, so a peer that sends
// garbage cannot flood the log.
bool ShouldLog(std::int64_t count) { return count <= 10 || count % 100 == 0; }

}  // namespace

Receiver::Receiver(const RoleLayout& layout, TrajectoryGeometry geometry,
                   std::size_t queue_capacity, std::chrono::milliseconds timeout)
    : layout_(layout),
      geometry_(geometry),
      timeout_(timeout),
      actors_(layout.ActorsOf(layout.rank())),
      queue_(queue_capacity) {
  const auto now = Clock::now();
  for (const int actor : actors_) {
    last_heard_[actor] = now;
    done_[actor] = false;
  }
  EncodeStop(stop_bytes_);
  // The thread closes the queue when it ends, so that a failure wakes a trainer in Pop().
  thread_ = StartThread("learner rank " + std::to_string(layout.rank()) + ": receive thread",
                        &errors_, [this] { Run(); }, [this] { queue_.Close(); });
}

Receiver::~Receiver() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_requested_ = true;
    }
    queue_.Close();
    thread_.join();
  }
}

bool Receiver::Pop(DecodedTrajectory* out, std::chrono::milliseconds wait) {
  switch (queue_.Pop(out, wait)) {
    case PopResult::kItem:
      return true;
    case PopResult::kTimeout:
      return false;
    case PopResult::kClosed:
      break;
  }
  errors_.RethrowIfFailed();  // closed by a failure, or by Shutdown
  return false;
}

void Receiver::PublishWeights(const torch::Tensor& flat, std::int64_t version) {
  auto bytes = std::make_shared<std::vector<std::byte>>();
  EncodeWeights(flat, version, *bytes);
  std::lock_guard<std::mutex> lock(mu_);
  latest_weights_ = std::move(bytes);
  latest_version_ = version;
}

void Receiver::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_requested_ = true;
    queue_.Close();  // wakes a trainer blocked in Pop()
    // Queued but never trained on: accounted for separately.
    counters_.left_in_queue += static_cast<std::int64_t>(queue_.Drain().size());
  }
  // The thread itself bounds the wait and aborts with the silent ranks.
  if (thread_.joinable()) thread_.join();
  errors_.RethrowIfFailed();
}

std::size_t Receiver::queue_depth() const { return queue_.size(); }

ReceiverCounters Receiver::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

std::string Receiver::SilentActors() const {
  std::vector<std::pair<double, int>> silence;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = Clock::now();
    for (const auto& [rank, when] : last_heard_) {
      silence.emplace_back(std::chrono::duration<double>(now - when).count(), rank);
    }
  }
  std::sort(silence.rbegin(), silence.rend());
  std::ostringstream out;
  for (std::size_t i = 0; i < silence.size() && i < 8; ++i) {
    out << (i ? ", " : "") << "rank " << silence[i].second << " (" << static_cast<int>(silence[i].first)
        << " s)";
  }
  return out.str();
}

void Receiver::Run() {
  bool stops_sent = false;
  auto stop_time = Clock::time_point::max();
  while (true) {
    bool progress = ReceiveOne();
    if (!stops_sent) progress = FanOutWeights() || progress;
    bool shutdown = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown = shutdown_requested_;
    }
    if (shutdown && !stops_sent) {
      SendStops();
      stops_sent = true;
      stop_time = Clock::now();
    }
    if (stops_sent) {
      std::vector<int> waiting;
      for (const auto& [rank, done] : done_) {
        if (!done) waiting.push_back(rank);
      }
      bool sends_done = true;
      for (auto& request : stop_requests_) sends_done = TestLocked(&request) && sends_done;
      for (auto& [rank, send] : weights_sends_) {
        sends_done = TestLocked(&send.request) && sends_done;
      }
      if (waiting.empty() && sends_done) break;
      if (Clock::now() - stop_time > timeout_) {
        std::ostringstream detail;
        detail << "learner rank " << layout_.rank() << " timed out after " << timeout_.count()
               << " ms waiting for 'done' from actor rank(s)";
        for (const int rank : waiting) detail << " " << rank;
        if (!sends_done) detail << " (and for its stop/weights sends to complete)";
        FailAndAbort("Colony", "Receiver shutdown", detail.str(), __FILE__, __LINE__);
      }
    }
    if (!progress) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

bool Receiver::ReceiveOne() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.full() && !shutdown_requested_) return false;  // back-pressure
  }
  int source = MPI_ANY_SOURCE;
  if (!ReceiveIfArrived(MPI_ANY_SOURCE, kTagTrajectory, &buffer_, &source)) return false;
  HandleMessage(source);
  return true;
}

void Receiver::HandleMessage(int source) {
  const bool ours = done_.count(source) > 0;
  std::unique_lock<std::mutex> lock(mu_);
  if (!ours) {
    if (ShouldLog(++counters_.foreign)) {
      std::fprintf(stderr, "[colony] learner rank %d: dropped a message from rank %d, which is "
                   "not one of its actors\n", layout_.rank(), source);
    }
    return;
  }
  last_heard_[source] = Clock::now();
  const bool draining = shutdown_requested_;
  lock.unlock();

  const auto kind = PeekKind(buffer_);
  std::string error;
  if (const auto* bad = std::get_if<std::string>(&kind)) {
    error = *bad;
  } else if (std::get<MessageKind>(kind) == MessageKind::kStop) {
    done_[source] = true;
    return;
  } else if (draining) {
    lock.lock();
    ++counters_.after_stop;
    return;
  } else {
    auto decoded = DecodeTrajectory(buffer_, geometry_);
    if (auto* good = std::get_if<DecodedTrajectory>(&decoded)) {
      if (good->actor_rank == source) {
        lock.lock();
        ++counters_.received;
        // This thread is the only producer and checked for room, so only a Shutdown() since
        // then can refuse the push: the trajectory then counts as left in the queue.
        if (!queue_.TryPush(*good)) ++counters_.left_in_queue;
        return;
      }
      error = "message says actor rank " + std::to_string(good->actor_rank) + ", sent by rank " +
              std::to_string(source);
    } else {
      error = std::get<std::string>(decoded);
    }
  }
  lock.lock();
  if (ShouldLog(++counters_.malformed)) {
    std::fprintf(stderr, "[colony] learner rank %d: dropped a malformed trajectory from rank "
                 "%d: %s (%lld dropped so far)\n", layout_.rank(), source, error.c_str(),
                 static_cast<long long>(counters_.malformed));
  }
}

bool Receiver::FanOutWeights() {
  std::shared_ptr<const std::vector<std::byte>> latest;
  std::int64_t version = -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    latest = latest_weights_;
    version = latest_version_;
  }
  if (!latest) return false;
  bool progress = false;
  for (const int actor : actors_) {
    WeightsSend& send = weights_sends_[actor];
    if (send.version >= version) continue;
    if (send.request != MPI_REQUEST_NULL && !TestLocked(&send.request)) continue;
    send.bytes = latest;
    send.version = version;
    {
      std::lock_guard<std::mutex> lock(MpiMutex());
      MPI_CHECK(MPI_Isend(send.bytes->data(), static_cast<int>(send.bytes->size()), MPI_BYTE,
                          actor, kTagControl, MPI_COMM_WORLD, &send.request));
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.weights_sent;
    progress = true;
  }
  return progress;
}

void Receiver::SendStops() {
  std::lock_guard<std::mutex> lock(MpiMutex());
  for (const int actor : actors_) {
    MPI_Request request = MPI_REQUEST_NULL;
    MPI_CHECK(MPI_Isend(stop_bytes_.data(), static_cast<int>(stop_bytes_.size()), MPI_BYTE,
                        actor, kTagControl, MPI_COMM_WORLD, &request));
    stop_requests_.push_back(request);
  }
}

}  // namespace colony
