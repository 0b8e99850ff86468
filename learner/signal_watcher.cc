// Boost.Asio signal_set on its own thread (learner/signal_watcher.h).
#include "learner/signal_watcher.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <thread>

namespace colony {

struct SignalWatcher::Impl {
  boost::asio::io_context io;
  boost::asio::signal_set signals{io, SIGUSR1, SIGTERM, SIGINT};
  std::thread thread;
};

SignalWatcher::SignalWatcher() : impl_(std::make_unique<Impl>()) {
  impl_->signals.async_wait([this](const boost::system::error_code& error, int number) {
    if (error) return;  // cancelled at destruction
    signal_.store(number);
    // Remove Asio's handlers: the default actions return, so a second signal kills.
    boost::system::error_code ignored;
    impl_->signals.clear(ignored);
  });
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

SignalWatcher::~SignalWatcher() {
  boost::system::error_code ignored;
  impl_->signals.cancel(ignored);
  impl_->signals.clear(ignored);
  impl_->io.stop();
  impl_->thread.join();
}

}  // namespace colony
