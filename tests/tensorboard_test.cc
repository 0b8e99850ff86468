// TensorBoard event files (common/metrics/tensorboard.h): CRC32C against published check values, the
// protobuf bytes of an Event against a hand-decoded reference, and the TFRecord framing.
// tests/check_tensorboard.py reads a real run's file with TensorBoard's own reader.
#include "common/metrics/tensorboard.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/base/files.h"
#include "common/metrics/metrics.h"

namespace colony {
namespace {

TEST(Crc32c, MatchesPublishedCheckValues) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);  // the CRC catalogue's check value
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
}

TEST(Crc32c, MaskRotatesAndAdds) {
  const std::uint32_t crc = Crc32c("123456789");
  EXPECT_EQ(MaskedCrc32c("123456789"), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST(EventEncoding, ScalarEventBytes) {
  // wall_time 1.0 (field 1, fixed64), step 300 (field 2, varint ac 02), summary (field 5):
  // value (field 1): tag "fps" (field 1), simple_value 2.0f (field 2, fixed32).
  const std::string event = EncodeScalarEvent(1.0, 300, "fps", 2.0f);
  const std::string expected("\x09\x00\x00\x00\x00\x00\x00\xf0\x3f"
                             "\x10\xac\x02"
                             "\x2a\x0c\x0a\x0a\x0a\x03"
                             "fps"
                             "\x15\x00\x00\x00\x40",
                             26);
  EXPECT_EQ(event, expected);
}

TEST(EventEncoding, FileVersionEvent) {
  const std::string event = EncodeFileVersionEvent(0.0);
  EXPECT_EQ(event, std::string("\x09\0\0\0\0\0\0\0\0\x1a\x0d", 11) + "brain.Event:2");
}

TEST(EventEncoding, RecordFraming) {
  const std::string record = FrameRecord("abc");
  ASSERT_EQ(record.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(record.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  std::uint32_t length_crc, data_crc;
  std::memcpy(&length_crc, record.data() + 8, 4);
  std::memcpy(&data_crc, record.data() + 15, 4);
  EXPECT_EQ(length_crc, MaskedCrc32c(record.substr(0, 8)));
  EXPECT_EQ(record.substr(12, 3), "abc");
  EXPECT_EQ(data_crc, MaskedCrc32c("abc"));
}

TEST(MetricsWriter, WritesJsonlAndOneEventPerFiniteKey) {
  const std::string dir = TempPath("colony_tensorboard_test");
  RemoveTree(dir);
  std::string event_path;
  {
    MetricsWriter writer(dir + "/metrics.jsonl");
    MetricsRecord record;
    record.Add("frames", std::int64_t{4096}).Add("fps", 10.0).Add("return", std::nan(""));
    writer.Write(record);
  }
  std::ifstream jsonl(dir + "/metrics.jsonl");
  std::string line;
  std::getline(jsonl, line);
  EXPECT_EQ(line, "{\"frames\":4096,\"fps\":10,\"return\":null}");

  // The folder holds exactly one event file; read its records back by the framing.
  const std::string listing = dir + "/tensorboard";
  FILE* ls = popen(("ls " + listing).c_str(), "r");
  char name[512] = {};
  ASSERT_NE(std::fgets(name, sizeof(name), ls), nullptr);
  pclose(ls);
  std::string file = name;
  file.pop_back();
  EXPECT_EQ(file.rfind("events.out.tfevents.", 0), 0u) << file;
  std::ifstream in(listing + "/" + file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string data = bytes.str();
  int records = 0;
  std::size_t at = 0;
  while (at < data.size()) {
    std::uint64_t length;
    std::memcpy(&length, data.data() + at, 8);
    at += 12 + length + 4;
    ++records;
  }
  EXPECT_EQ(at, data.size());
  EXPECT_EQ(records, 3);  // file_version, frames, fps (return is null: skipped)
  EXPECT_NE(data.find("brain.Event:2"), std::string::npos);
  RemoveTree(dir);
}

TEST(StatusLine, ShowsTheStepSplit) {
  MetricsRecord record;
  record.Add("frames", std::int64_t{12800}).Add("fps", 5230.4).Add("episodes", std::int64_t{40})
      .Add("episode_return_mean", 21.53).Add("queue_depth", 1.0)
      .Add("learner_step_s", 0.021).Add("learner_wait_s", 0.003).Add("forward_s", 0.008)
      .Add("backward_s", 0.009).Add("allreduce_s", 0.0).Add("optimizer_s", 0.001);
  EXPECT_EQ(StatusLine(record),
            "frames 12800 | fps 5230 | episodes 40 | return 21.5 | queue 1.0 | "
            "step 21ms (wait 3.0 fwd 8.0 bwd 9.0 ar 0.0 opt 1.0)");
}

}  // namespace
}  // namespace colony
