// A small HTTP server on learner 0 (or the serial trainer) that shows the latest metrics record:
//   GET /metrics  Prometheus text exposition format 0.0.4: a `colony_<key>` gauge per key,
//                 with # HELP and # TYPE lines; null (non-finite) values are NaN.
//   GET /status   the latest record as JSON, exactly as in metrics.jsonl ({} before the first).
// HEAD is answered too; every response closes its connection.
//
// In: Publish(record) from the training thread, which only swaps two strings under a mutex, so
// serving never blocks training. Out: responses on a loopback (by default) TCP socket.
// The server runs its own io_context on its own thread. Bad requests never reach training:
// request line > 8 KiB -> 414, headers > 16 KiB -> 431, unparsable -> 400, a method other than
// GET/HEAD -> 405, unknown path -> 404, nothing complete within the read timeout -> 408; more
// than kMaxConnections open connections -> the newest is closed at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/metrics/metrics.h"

namespace colony {

// "HOST:PORT" or "[IPv6]:PORT" with a numeric address and a port in [0, 65535] (0 = any free
// port). Returns an empty string when valid, else what is wrong.
std::string CheckListenAddress(const std::string& address);

// The /metrics body for a record.
std::string ToPrometheusText(const MetricsRecord& record);
// `key` as a valid Prometheus metric name: "colony_" + key with other characters as '_'.
std::string PrometheusName(const std::string& key);

class MetricsServer {
 public:
  static constexpr std::size_t kMaxRequestLine = 8 * 1024;
  static constexpr std::size_t kMaxHeaders = 16 * 1024;
  static constexpr int kMaxConnections = 64;

  // Binds and listens on `address` (see CheckListenAddress) and starts serving. Throws
  // std::runtime_error naming the address if it cannot listen.
  explicit MetricsServer(const std::string& address,
                         std::chrono::milliseconds read_timeout = std::chrono::seconds(5));
  ~MetricsServer();  // Stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Makes `record` what /metrics and /status show.
  void Publish(const MetricsRecord& record);
  // Closes the listening socket and every connection and joins the thread; idempotent.
  void Stop();
  // The address actually bound, e.g. "127.0.0.1:40123" when asked for port 0.
  std::string bound_address() const;
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace colony
