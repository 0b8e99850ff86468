// The metrics HTTP endpoint (common/metrics/metrics_server.h) over real loopback sockets with a plain
// POSIX client: /metrics in Prometheus' text format, /status as JSON, and malformed requests
// that get a 4xx while the server keeps serving.
#include "common/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace colony {
namespace {

using std::chrono::milliseconds;

int Connect(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// Reads until the server closes the connection (or `limit` passes: then returns "TIMEOUT").
std::string ReadAll(int fd, milliseconds limit = milliseconds(10000)) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buffer[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                               std::chrono::steady_clock::now());
    if (left.count() <= 0) return "TIMEOUT";
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

void SendAll(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may answer and close before reading everything
    sent += static_cast<std::size_t>(n);
  }
}

std::string Exchange(std::uint16_t port, const std::string& request) {
  const int fd = Connect(port);
  SendAll(fd, request);
  std::string response = ReadAll(fd);
  close(fd);
  return response;
}

int StatusCode(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return -1;
  return std::stoi(response.substr(9, 3));
}

std::string Body(const std::string& response) {
  const std::size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

MetricsRecord SampleRecord() {
  MetricsRecord record;
  record.Add("frames", std::int64_t{12800})
      .Add("fps", 5230.5)
      .Add("episode_return_mean", std::nan(""))
      .Add("policy_lag_mean", 0.25)
      .Add("weird-key.x", 3.0);
  return record;
}

class MetricsServerTest : public testing::Test {
 protected:
  MetricsServerTest() : server_("127.0.0.1:0", milliseconds(500)) {
    server_.Publish(SampleRecord());
  }
  std::uint16_t port() const { return server_.port(); }
  void ExpectStillServing() {
    EXPECT_EQ(StatusCode(Exchange(port(), "GET /status HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
  }
  MetricsServer server_;
};

TEST_F(MetricsServerTest, BindsAnEphemeralLoopbackPort) {
  EXPECT_NE(port(), 0);
  EXPECT_EQ(server_.bound_address(), "127.0.0.1:" + std::to_string(port()));
}

TEST_F(MetricsServerTest, MetricsAreValidPrometheusText) {
  const std::string response = Exchange(port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(StatusCode(response), 200) << response;
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  const std::string body = Body(response);
  const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$)");
  const std::regex help(R"(^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  std::istringstream lines(body);
  std::string line;
  std::map<std::string, std::string> values;
  int types = 0;
  while (std::getline(lines, line)) {
    std::smatch match;
    if (line.rfind("#", 0) == 0) {
      ASSERT_TRUE(std::regex_match(line, match, help)) << line;
      if (match[1] == "TYPE") {
        EXPECT_EQ(line, "# TYPE " + match[2].str() + " gauge");
        ++types;
      }
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, match, sample)) << line;
    values[match[1]] = match[2];
    if (match[2] != "NaN") {
      std::size_t used = 0;
      std::stod(match[2], &used);
      EXPECT_EQ(used, match[2].length()) << line;
    }
  }
  EXPECT_EQ(types, 5);
  EXPECT_EQ(values["colony_frames"], "12800");
  EXPECT_EQ(values["colony_fps"], "5230.5");
  EXPECT_EQ(values["colony_episode_return_mean"], "NaN");
  EXPECT_EQ(values["colony_policy_lag_mean"], "0.25");
  EXPECT_EQ(values["colony_weird_key_x"], "3");
}

TEST_F(MetricsServerTest, StatusIsTheLatestRecordAsJson) {
  std::string response = Exchange(port(), "GET /status HTTP/1.0\r\n\r\n");
  ASSERT_EQ(StatusCode(response), 200) << response;
  EXPECT_NE(response.find("Content-Type: application/json"), std::string::npos);
  EXPECT_EQ(Body(response), SampleRecord().ToJson() + "\n");

  MetricsRecord next;
  next.Add("frames", std::int64_t{25600});
  server_.Publish(next);
  response = Exchange(port(), "GET /status?pretty=0 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(Body(response), "{\"frames\":25600}\n");
}

TEST_F(MetricsServerTest, HeadHasNoBody) {
  const std::string response = Exchange(port(), "HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(StatusCode(response), 200);
  EXPECT_EQ(Body(response), "");
}

TEST_F(MetricsServerTest, MalformedRequestsGet4xxAndServingGoesOn) {
  EXPECT_EQ(StatusCode(Exchange(port(), "\x01\x02garbage\r\n\r\n")), 400);
  EXPECT_EQ(StatusCode(Exchange(port(), "GET /metrics\r\n\r\n")), 400);
  EXPECT_EQ(StatusCode(Exchange(port(), "GET metrics HTTP/1.1\r\n\r\n")), 400);
  ExpectStillServing();
  const std::string post = Exchange(port(), "POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_EQ(StatusCode(post), 405);
  EXPECT_NE(post.find("Allow: GET, HEAD"), std::string::npos);
  EXPECT_EQ(StatusCode(Exchange(port(), "DELETE / HTTP/1.1\r\n\r\n")), 405);
  EXPECT_EQ(StatusCode(Exchange(port(), "GET /nope HTTP/1.1\r\n\r\n")), 404);
  EXPECT_EQ(StatusCode(Exchange(port(), "GET /metricsx HTTP/1.1\r\n\r\n")), 404);
  ExpectStillServing();
}

TEST_F(MetricsServerTest, OversizedRequestsAreRefused) {
  const std::string long_line = "GET /" + std::string(MetricsServer::kMaxRequestLine, 'a');
  EXPECT_EQ(StatusCode(Exchange(port(), long_line)), 414);
  EXPECT_EQ(StatusCode(Exchange(port(), long_line + " HTTP/1.1\r\n\r\n")), 414);
  std::string headers = "GET /metrics HTTP/1.1\r\n";
  while (headers.size() < 2 * MetricsServer::kMaxHeaders) headers += "X-Filler: 0123456789\r\n";
  EXPECT_EQ(StatusCode(Exchange(port(), headers + "\r\n")), 431);
  ExpectStillServing();
}

TEST_F(MetricsServerTest, SilentAndSlowClientsAreTimedOut) {
  const auto start = std::chrono::steady_clock::now();
  const int silent = Connect(port());
  const int slow = Connect(port());
  SendAll(slow, "GET /met");  // and never the rest
  ExpectStillServing();       // while both are open
  EXPECT_EQ(StatusCode(ReadAll(silent, milliseconds(5000))), 408);
  EXPECT_EQ(StatusCode(ReadAll(slow, milliseconds(5000))), 408);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(4000));
  close(silent);
  close(slow);
  ExpectStillServing();
}

TEST_F(MetricsServerTest, StopsWithConnectionsOpen) {
  const int idle = Connect(port());
  ExpectStillServing();  // `idle` has been accepted by now: the server accepts in order
  const auto start = std::chrono::steady_clock::now();
  server_.Stop();
  server_.Stop();  // idempotent
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  EXPECT_EQ(ReadAll(idle, milliseconds(2000)), "");  // closed, not left hanging
  close(idle);
}

TEST(MetricsServerAddress, ChecksHostAndPort) {
  EXPECT_EQ(CheckListenAddress("127.0.0.1:9090"), "");
  EXPECT_EQ(CheckListenAddress("0.0.0.0:0"), "");
  EXPECT_EQ(CheckListenAddress("[::1]:0"), "");
  EXPECT_NE(CheckListenAddress("localhost:9090"), "");
  EXPECT_NE(CheckListenAddress("127.0.0.1"), "");
  EXPECT_NE(CheckListenAddress("127.0.0.1:70000"), "");
  EXPECT_NE(CheckListenAddress("127.0.0.1:-1"), "");
  EXPECT_NE(CheckListenAddress(":80"), "");
  EXPECT_THROW(MetricsServer("nope"), std::runtime_error);
}

TEST(MetricsServerAddress, BusyPortIsAnErrorNamingTheAddress) {
  MetricsServer first("127.0.0.1:0");
  const std::string address = first.bound_address();
  try {
    MetricsServer second(address);
    FAIL() << "expected the second server to fail on " << address;
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(address), std::string::npos) << error.what();
  }
}

TEST(PrometheusName, ReplacesInvalidCharacters) {
  EXPECT_EQ(PrometheusName("fps"), "colony_fps");
  EXPECT_EQ(PrometheusName("a-b.c d"), "colony_a_b_c_d");
}

}  // namespace
}  // namespace colony
