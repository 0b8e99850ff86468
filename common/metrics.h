// Metrics records: one JSON object per line in RUN_DIR/metrics.jsonl, and the same numbers as a
// human status line. Learner 0 (or the serial trainer) writes them every --report-every seconds
// and once at the end.
//
// In: named numbers in the order they should print. Out: appended, flushed lines; a non-finite
// value is written as null (JSON has no NaN), e.g. the mean return before any episode ended.
#pragma once

#include <cstdint>
#include <cstdio>
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

 private:
  std::vector<std::pair<std::string, std::string>> fields_;  // key, JSON-formatted value
};

// Appends records to a JSONL file, creating parent directories. Each line is flushed so a run
// killed mid-way leaves whole lines behind.
class MetricsWriter {
 public:
  explicit MetricsWriter(const std::string& path);  // throws std::runtime_error naming the path
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  void Write(const MetricsRecord& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace colony
