// SignalWatcher: SIGUSR1, SIGTERM and SIGINT as requests, for the rank that decides when a run
// checkpoints and stops (learner 0, or the serial trainer).
//
// In: those signals, caught with Boost.Asio's signal_set on a small thread of its own (an
// io_context), so no work happens in a signal handler. Out: checkpoint_requested() and
// stop_requested(), read by the training loop between updates. SIGUSR1 asks for "checkpoint,
// then stop in order"; SIGTERM and SIGINT ask for the same (a batch system's warning before it
// kills a job). After the first signal the default actions come back, so a second one kills.
#pragma once

#include <atomic>
#include <memory>

namespace colony {

class SignalWatcher {
 public:
  SignalWatcher();   // starts watching
  ~SignalWatcher();  // stops the thread; the signals get their default actions back
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  bool stop_requested() const { return signal_.load() != 0; }
  bool checkpoint_requested() const { return signal_.load() != 0; }
  int signal() const { return signal_.load(); }  // the first signal caught, or 0

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<int> signal_{0};
};

}  // namespace colony
