// TensorBoard event files written without TensorFlow or a protobuf library: each metrics record
// becomes scalar summaries that `tensorboard --logdir RUN_DIR/tensorboard` plots.
//
// In: (step, wall time, tag -> value) from MetricsWriter. Out: RUN_DIR/tensorboard/
// events.out.tfevents.<unix time>.<hostname>, a TFRecord stream of `tensorflow.Event` messages:
//   record  = u64 length (LE) | u32 masked CRC32C of those 8 bytes | data | u32 masked CRC32C
//   Event   = wall_time (1, double) | step (2, int64) | file_version (3, string) | summary (5)
//   Summary = repeated value (1) = Value { tag (1, string) | simple_value (2, float) }
// The first event carries file_version "brain.Event:2". Every record is flushed, so a run killed
// mid-way leaves whole events behind; appending to an existing file keeps it a valid stream.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace colony {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses it.
std::uint32_t Crc32c(std::string_view data);
// TFRecord's masking: rotate right by 15 and add 0xa282ead8.
std::uint32_t MaskedCrc32c(std::string_view data);

// One serialized Event holding one scalar summary (tag, value).
std::string EncodeScalarEvent(double wall_time, std::int64_t step, std::string_view tag,
                              float value);
// The first Event of a file: wall_time and file_version "brain.Event:2".
std::string EncodeFileVersionEvent(double wall_time);
// `data` framed as one TFRecord.
std::string FrameRecord(std::string_view data);

class TensorBoardWriter {
 public:
  // Creates `dir` and opens events.out.tfevents.<unix time>.<hostname> in it; throws
  // std::runtime_error naming the path on failure.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // Appends one scalar event; call Flush() after a batch of them.
  void AddScalar(std::string_view tag, std::int64_t step, double value, double wall_time);
  void Flush();
  const std::string& path() const { return path_; }

 private:
  void Append(const std::string& event);

  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace colony
