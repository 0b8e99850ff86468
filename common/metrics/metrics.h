// Metrics records: one JSON object per line in RUN_DIR/metrics.jsonl, the same numbers as
// TensorBoard scalars in RUN_DIR/tensorboard/ and on the optional HTTP endpoint, and a human
// status line. Learner 0 (or the serial trainer) writes them every --report-every seconds and
// once at the end (docs/observability.md lists the keys).
//
// In: named numbers in the order they should print. Out: appended, flushed lines (common/base/json.h);
// numbers in their shortest round-trip form, and a non-finite value as null (JSON has no NaN),
// e.g. the mean return before any episode ended.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace colony {

class MetricsRecord {
 public:
  MetricsRecord& Add(const std::string& key, double value);
  MetricsRecord& Add(const std::string& key, std::int64_t value);
  std::string ToJson() const;
  // "frames 12800 | fps 5230 | return 21.5 ..." for the keys named, in that order.
  std::string ToStatusLine(const std::vector<std::string>& keys) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  // The value of `key` as a number: NaN for null, `fallback` when the key is absent.
  double Number(const std::string& key, double fallback) const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;  // key, JSON-formatted value
};

// The status line both trainers print: progress, returns, policy lag, queue, entropy, KL(mu||pi),
// the values' explained variance and the learner's step time split, e.g. "frames 4608 |
// fps 1277 | episodes 188 | return 22.9 | lag 2.46 | lag_max 5 | queue 1.0 | dropped 0 |
// entropy 0.684 | kl 0.0012 | ev 0.37 | step 166ms (wait 78 fwd 83 bwd 104 ar 0.0 opt 1.6)".
// Keys the record lacks are left out.
std::string StatusLine(const MetricsRecord& record);

class MetricsServer;
class TensorBoardWriter;

// Appends records to a JSONL file, creating parent directories, and the same numbers to a
// TensorBoard event file in <its folder>/tensorboard/ (one scalar per finite key, step =
// "frames"). Each line is flushed so a run killed mid-way leaves whole lines behind.
class MetricsWriter {
 public:
  explicit MetricsWriter(const std::string& path);  // throws std::runtime_error naming the path
  ~MetricsWriter();  // stops the HTTP server, if any
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // Also serves every record written from now on over HTTP at `address` (HOST:PORT, port 0 =
  // any free port; common/metrics/metrics_server.h), prints the bound address and writes it to
  // <folder>/metrics_address. Throws std::runtime_error if it cannot listen.
  void ServeHttp(const std::string& address);
  void Write(const MetricsRecord& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
  std::unique_ptr<MetricsServer> server_;
};

}  // namespace colony
