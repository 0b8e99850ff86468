// FirstError: the slot where a worker thread leaves the exception that ended it, so that its
// owner re-raises it on the owner's thread. An exception that escapes a std::thread calls
// std::terminate and kills the process without its message; torchbeast's "this will only catch
// errors in the first thread" is the other bug to avoid: every worker reports here. Only the
// first error is kept, since later ones are usually consequences of it.
//
// StartThread() runs a worker that way:
//   worker:  body() throws -> errors->Capture(...) -> on_exit()  (e.g. close its queue)
//   owner:   errors.RethrowIfFailed()  after a join, or when the worker's queue closes
#pragma once

#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace colony {

class FirstError {
 public:
  // Keeps `error` unless an earlier one is kept already.
  void Capture(std::exception_ptr error) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_) error_ = std::move(error);
  }
  bool failed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_ != nullptr;
  }
  // Throws the kept exception on the calling thread; does nothing if none was kept.
  void RethrowIfFailed() const {
    std::exception_ptr error;
    {
      std::lock_guard<std::mutex> lock(mu_);
      error = error_;
    }
    if (error) std::rethrow_exception(error);
  }

 private:
  mutable std::mutex mu_;  // guards error_
  std::exception_ptr error_;
};

// The message of the exception in flight, for use inside a catch block: what() of a
// std::exception, "unknown exception" for anything else.
inline std::string CurrentExceptionMessage() {
  try {
    throw;
  } catch (const std::exception& error) {
    return error.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Starts a thread that runs `body`, then `on_exit` (also when `body` throws). An exception
// from `body` is kept in `errors` as std::runtime_error("<name> failed: <its message>"), so the
// owner learns which worker failed and why. `errors` must outlive the thread.
inline std::thread StartThread(std::string name, FirstError* errors, std::function<void()> body,
                               std::function<void()> on_exit) {
  return std::thread([name = std::move(name), errors, body = std::move(body),
                      on_exit = std::move(on_exit)] {
    try {
      body();
    } catch (...) {
      errors->Capture(std::make_exception_ptr(
          std::runtime_error(name + " failed: " + CurrentExceptionMessage())));
    }
    if (on_exit) on_exit();
  });
}

}  // namespace colony
