// The metrics HTTP server (common/metrics/metrics_server.h) on Boost.Asio: one io_context on one thread,
// one Session object per connection, each with a deadline timer that bounds how long a client
// may take to send its request (slowloris) and how long we linger after answering.
#include "common/metrics/metrics_server.h"

#include <boost/asio.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace colony {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// What the server shows; written by Publish on the training thread, read by sessions.
struct Snapshot {
  std::mutex mu;
  std::string metrics;          // GUARDED_BY(mu)
  std::string status = "{}\n";  // GUARDED_BY(mu)
};

struct Endpoint {
  asio::ip::address address;
  std::uint16_t port = 0;
};

std::string ParseListenAddress(const std::string& text, Endpoint* out) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return "expected HOST:PORT (e.g. 127.0.0.1:9090, [::1]:0), got '" + text + "'";
  }
  std::string host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    return "expected a port in [0, 65535] after ':' (0 = any free port), got '" + text + "'";
  }
  boost::system::error_code error;
  out->address = asio::ip::make_address(host, error);
  if (error) return "expected a numeric IP address before ':', got '" + text + "'";
  out->port = static_cast<std::uint16_t>(std::stoi(port));
  return "";
}

std::string Response(int code, const char* reason, const char* content_type,
                     const std::string& body, bool head_only, const char* extra_header = "") {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\n" +
                    "Content-Type: " + content_type + "\r\n" +
                    "Content-Length: " + std::to_string(body.size()) + "\r\n" + extra_header +
                    "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

std::string ErrorResponse(int code, const char* reason, const char* extra_header = "") {
  return Response(code, reason, "text/plain; charset=utf-8",
                  std::to_string(code) + " " + reason + "\n", /*head_only=*/false, extra_header);
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Snapshot> snapshot,
          std::chrono::milliseconds timeout, std::atomic<int>* open)
      : socket_(std::move(socket)), timer_(socket_.get_executor()),
        snapshot_(std::move(snapshot)), timeout_(timeout), open_(open) {
    ++*open_;
  }
  ~Session() { --*open_; }

  void Start() {
    ArmTimer(timeout_);
    Read();
  }

  void Close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

 private:
  void ArmTimer(std::chrono::milliseconds after) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      if (error) return;  // cancelled: rearmed or the session finished
      if (!self->answered_) {
        self->Answer(ErrorResponse(408, "Request Timeout"));
      } else {
        self->Close();
      }
    });
  }

  void Read() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](
                                                      const boost::system::error_code& error,
                                                      std::size_t n) { self->OnRead(error, n); });
  }

  void OnRead(const boost::system::error_code& error, std::size_t n) {
    if (answered_) return;
    if (error) {  // the client went away (or sent half a request and closed): nobody to answer
      Close();
      return;
    }
    request_.append(chunk_.data(), n);
    const std::size_t line_end = request_.find('\n');
    if (line_end == std::string::npos) {
      if (request_.size() > MetricsServer::kMaxRequestLine) {
        return Answer(ErrorResponse(414, "URI Too Long"));
      }
      return Read();
    }
    if (line_end > MetricsServer::kMaxRequestLine) return Answer(ErrorResponse(414, "URI Too Long"));
    // The header block ends at the first empty line (CRLF or bare LF).
    const std::size_t crlf = request_.find("\n\r\n", line_end);
    const std::size_t lf = request_.find("\n\n", line_end);
    const std::size_t end = std::min(crlf, lf);
    if (end == std::string::npos || end - line_end > MetricsServer::kMaxHeaders) {
      if (request_.size() - line_end > MetricsServer::kMaxHeaders) {
        return Answer(ErrorResponse(431, "Request Header Fields Too Large"));
      }
      return Read();
    }
    std::string line = request_.substr(0, line_end);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    Answer(Handle(line));
  }

  std::string Handle(const std::string& line) const {
    const std::size_t a = line.find(' ');
    const std::size_t b = a == std::string::npos ? a : line.find(' ', a + 1);
    if (b == std::string::npos || line.find(' ', b + 1) != std::string::npos) {
      return ErrorResponse(400, "Bad Request");
    }
    const std::string method = line.substr(0, a);
    const std::string target = line.substr(a + 1, b - a - 1);
    const std::string version = line.substr(b + 1);
    if (method.empty() || method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos ||
        target.empty() || target.front() != '/' || version.rfind("HTTP/1.", 0) != 0 ||
        version.size() != 8) {
      return ErrorResponse(400, "Bad Request");
    }
    if (method != "GET" && method != "HEAD") {
      return ErrorResponse(405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
    }
    const bool head = method == "HEAD";
    const std::string path = target.substr(0, target.find('?'));
    std::lock_guard<std::mutex> lock(snapshot_->mu);
    if (path == "/metrics") {
      return Response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", snapshot_->metrics,
                      head);
    }
    if (path == "/status") {
      return Response(200, "OK", "application/json", snapshot_->status, head);
    }
    return ErrorResponse(404, "Not Found");
  }

  // Writes the response, then half-closes and drains what the client still sends until it
  // closes or a short linger ends: closing with unread input would reset the connection and
  // could destroy the response before the client reads it.
  void Answer(std::string response) {
    answered_ = true;
    response_ = std::move(response);
    asio::async_write(socket_, asio::buffer(response_),
                      [self = shared_from_this()](const boost::system::error_code& error,
                                                  std::size_t) {
                        if (error) return self->Close();
                        boost::system::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
                        self->ArmTimer(std::chrono::milliseconds(1000));
                        self->Drain();
                      });
  }

  void Drain() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](
                                                      const boost::system::error_code& error,
                                                      std::size_t) {
      if (error) return self->Close();
      self->Drain();
    });
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<Snapshot> snapshot_;
  std::chrono::milliseconds timeout_;
  std::atomic<int>* open_;
  std::array<char, 4096> chunk_{};
  std::string request_;
  std::string response_;
  bool answered_ = false;
};

}  // namespace

std::string CheckListenAddress(const std::string& address) {
  Endpoint endpoint;
  return ParseListenAddress(address, &endpoint);
}

std::string PrometheusName(const std::string& key) {
  std::string name = "colony_" + key;
  for (char& ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == ':';
    if (!ok) ch = '_';
  }
  return name;
}

std::string ToPrometheusText(const MetricsRecord& record) {
  std::string out;
  std::set<std::string> seen;
  for (const auto& [key, value] : record.fields()) {
    const std::string name = PrometheusName(key);
    if (!seen.insert(name).second) continue;  // a name may appear once per exposition
    out += "# HELP " + name + " Colony metrics.jsonl key " + key + " (docs/observability.md)\n";
    out += "# TYPE " + name + " gauge\n";
    out += name + " " + (value == "null" ? std::string("NaN") : value) + "\n";
  }
  return out;
}

struct MetricsServer::Impl {
  std::atomic<int> open{0};
  std::shared_ptr<Snapshot> snapshot = std::make_shared<Snapshot>();
  std::chrono::milliseconds read_timeout{0};
  std::string bound;
  std::uint16_t port = 0;
  std::mutex stop_mu;
  bool stopped = false;  // GUARDED_BY(stop_mu)
  asio::io_context io;   // declared after what sessions point at: destroyed before it
  tcp::acceptor acceptor{io};
  std::vector<std::weak_ptr<Session>> sessions;  // used on the io thread only
  std::thread thread;

  void Accept() {
    acceptor.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (!acceptor.is_open()) return;
      if (!error) {
        if (open.load() >= kMaxConnections) {
          boost::system::error_code ignored;
          socket.close(ignored);
        } else {
          std::erase_if(sessions, [](const auto& session) { return session.expired(); });
          auto session = std::make_shared<Session>(std::move(socket), snapshot, read_timeout,
                                                   &open);
          sessions.push_back(session);
          session->Start();
        }
      }
      Accept();
    });
  }
};

MetricsServer::MetricsServer(const std::string& address, std::chrono::milliseconds read_timeout)
    : impl_(std::make_unique<Impl>()) {
  Endpoint endpoint;
  const std::string problem = ParseListenAddress(address, &endpoint);
  if (!problem.empty()) throw std::runtime_error("metrics server: " + problem);
  impl_->read_timeout = read_timeout;
  const tcp::endpoint want(endpoint.address, endpoint.port);
  boost::system::error_code error;
  impl_->acceptor.open(want.protocol(), error);
  if (!error) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) impl_->acceptor.bind(want, error);
  if (!error) impl_->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    throw std::runtime_error("metrics server: cannot listen on " + address + ": " +
                             error.message() +
                             " (--metrics-addr HOST:0 picks a free port; --no-metrics-server "
                             "turns the server off)");
  }
  const tcp::endpoint got = impl_->acceptor.local_endpoint();
  impl_->port = got.port();
  impl_->bound = got.address().is_v6() ? "[" + got.address().to_string() + "]"
                                       : got.address().to_string();
  impl_->bound += ":" + std::to_string(impl_->port);
  impl_->Accept();
  impl_->thread = std::thread([impl = impl_.get()] {
    try {
      impl->io.run();
    } catch (const std::exception& e) {  // never let the server take training down
      std::fprintf(stderr, "metrics server stopped: %s\n", e.what());
    }
  });
}

MetricsServer::~MetricsServer() { Stop(); }

void MetricsServer::Publish(const MetricsRecord& record) {
  std::string metrics = ToPrometheusText(record);
  std::string status = record.ToJson() + "\n";
  std::lock_guard<std::mutex> lock(impl_->snapshot->mu);
  impl_->snapshot->metrics.swap(metrics);
  impl_->snapshot->status.swap(status);
}

void MetricsServer::Stop() {
  std::lock_guard<std::mutex> lock(impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  // Close every socket on the io thread, so clients see the connection end now rather than when
  // the server is destroyed, then stop without waiting for the aborted handlers.
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    for (const auto& weak : impl->sessions) {
      if (auto session = weak.lock()) session->Close();
    }
    impl->io.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);  // in case the io thread had already ended
}

std::string MetricsServer::bound_address() const { return impl_->bound; }
std::uint16_t MetricsServer::port() const { return impl_->port; }

}  // namespace colony
