// The malformed-message battery for common/wire/wire.h: each bad message must come back as an error
// string naming what was wrong, never a crash, an out-of-bounds read or a huge allocation.
// Cases: every truncation point, prefix faults, geometry and table mismatches (shape, dtype,
// name, count, offsets), bad content in every field, corrupt counts in the Cereal header, and
// 2,000 seeded random mutations whose decodes must either fail or yield in-range content.
//
// Global operator new is replaced here so that a test can see the largest allocation a decode
// makes; c10's tensor allocations bypass it, but their sizes come from the receiver's geometry.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <random>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/wire/wire.h"
#include "tests/wire_test_util.h"

namespace {
std::atomic<bool> g_track_allocations{false};
std::atomic<std::size_t> g_largest_allocation{0};

void* Allocate(std::size_t n) {
  if (g_track_allocations.load(std::memory_order_relaxed)) {
    std::size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
    while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n)) {
    }
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return Allocate(n); }
void* operator new[](std::size_t n) { return Allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace colony::wire_test {
namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::variant<DecodedTrajectory, std::string> Decode(const Bytes& bytes,
                                                    const TrajectoryGeometry& g = kSmall) {
  return DecodeTrajectory(bytes, g);
}

Bytes Encoded(const Trajectory& tr) {
  Bytes out;
  EncodeTrajectory(tr, /*actor_rank=*/1, /*sequence=*/2, out);
  return out;
}

TEST(WireMalformed, EveryTruncationIsAnError) {
  const Bytes full = Encoded(MakeRandomTrajectory(kSmall, 1));
  ASSERT_EQ(ErrorOf(Decode(full)), "");
  for (std::size_t n = 0; n < full.size(); ++n) {
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(ErrorOf(Decode(cut)), "") << "a message cut to " << n << " bytes decoded";
  }
  EXPECT_ERROR(Decode(Bytes(full.begin(), full.end() - 3)), "payload truncated: ");
  EXPECT_ERROR(Decode(Bytes(full.begin(), full.begin() + 20)), "beyond the message");
}

TEST(WireMalformed, PrefixFaults) {
  const Spec good = SpecOf(MakeRandomTrajectory(kSmall, 2), kSmall, 1, 2);
  Spec s = good;
  s.magic[0] = 'X';
  EXPECT_ERROR(Decode(Build(s)), "bad magic: expected \"CLNY\"");
  s = good;
  s.version = 2;  // before uint8 observations: no obs_uint8 in the geometry
  EXPECT_ERROR(Decode(Build(s)), "format version 2, expected 3");
  s.version = 4;
  EXPECT_ERROR(Decode(Build(s)), "format version 4, expected 3");
  s = good;
  s.kind = 2;
  EXPECT_ERROR(Decode(Build(s)), "message kind 2 (weights), expected 1 (trajectory)");
  s.kind = 9;
  EXPECT_ERROR(Decode(Build(s)), "message kind 9, expected 1 (trajectory), 2 (weights) or 3");
  Bytes bytes = Build(good);
  const std::uint32_t huge = 1'000'000;
  std::memcpy(bytes.data() + 8, &huge, 4);
  EXPECT_ERROR(Decode(bytes), "header length 1000000 beyond the message: only ");
}

TEST(WireMalformed, EachGeometryFieldMismatchIsNamed) {
  const Bytes bytes = Encoded(MakeRandomTrajectory(kSmall, 3));
  for (const auto& [name, field] : kGeometryFields) {
    TrajectoryGeometry expected = kSmall;
    expected.*field += 1;
    EXPECT_ERROR(Decode(bytes, expected),
                 std::string("geometry ") + name + " " + std::to_string(kSmall.*field) +
                     ", expected " + std::to_string(kSmall.*field + 1));
  }
}

TEST(WireMalformed, TableMismatches) {
  const Spec good = SpecOf(MakeRandomTrajectory(kSmall, 4), kSmall, 1, 2);
  Spec s = good;
  s.entries[EntryIndex(s, "obs")].shape = {3, 2, 5};
  EXPECT_ERROR(Decode(Build(s)), "obs shape [3, 2, 5], expected [3, 2, 3]");
  s = good;
  s.entries[EntryIndex(s, "rewards")].dtype = "float64";
  EXPECT_ERROR(Decode(Build(s)), "rewards dtype float64, expected float32");
  s = good;
  s.entries[3].name = "reward";
  EXPECT_ERROR(Decode(Build(s)), "tensor 3 is 'reward', expected 'rewards'");
  s = good;
  s.entries.pop_back();
  s.blobs.pop_back();
  EXPECT_ERROR(Decode(Build(s)), "tensor count 9, expected 10");
  s = good;
  s.entries[EntryIndex(s, "actions")].length = 8;
  EXPECT_ERROR(Decode(Build(s)), "actions byte length 8, expected 32");
  s = good;
  s.header_suffix = "x";
  EXPECT_ERROR(Decode(Build(s)), "header has 1 unread bytes after its last field");
  Bytes bytes = Build(good);
  bytes.resize(bytes.size() + 8);
  EXPECT_ERROR(Decode(bytes), "8 trailing bytes after the last tensor");
}

TEST(WireMalformed, OverlappingAndOutOfRangeOffsets) {
  const Spec good = SpecOf(MakeRandomTrajectory(kSmall, 5), kSmall, 1, 2);
  Spec s = good;
  const std::size_t actions = EntryIndex(s, "actions"), rewards = EntryIndex(s, "rewards");
  s.entries[rewards].offset = s.entries[actions].offset + 8;
  EXPECT_ERROR(Decode(Build(s)), "actions bytes [");
  EXPECT_ERROR(Decode(Build(s)), ") overlap rewards bytes [");
  s = good;
  s.entries.back().offset += 8;  // the last tensor moves past the end of the message
  Bytes bytes = Build(s);
  bytes.resize(bytes.size() - 8);
  EXPECT_ERROR(Decode(bytes), "payload truncated: ");
  EXPECT_ERROR(Decode(bytes), "(initial_memory at [");
  s = good;
  s.entries[EntryIndex(s, "obs")].offset = std::uint64_t{1} << 62;
  s.blobs[EntryIndex(s, "obs")].clear();  // Build places nothing there
  EXPECT_ERROR(Decode(Build(s)), "obs offset 4611686018427387904 outside the payload of ");
  s = good;
  s.entries[EntryIndex(s, "first")].offset = std::numeric_limits<std::uint64_t>::max() - 4;
  s.blobs[EntryIndex(s, "first")].clear();
  EXPECT_ERROR(Decode(Build(s)), "first offset 18446744073709551611 outside the payload");
}

TEST(WireMalformed, NonFiniteValueInEachFloatField) {
  for (const float bad : {kNan, kInf, -kInf}) {
    const std::string text = bad != bad ? "nan" : bad > 0 ? "inf" : "-inf";
    Trajectory tr = MakeRandomTrajectory(kSmall, 6);
    tr.obs[2][1][0] = bad;
    EXPECT_ERROR(Decode(Encoded(tr)), "non-finite obs at t=2, column 1 (" + text + ")");
    tr = MakeRandomTrajectory(kSmall, 6);
    tr.rewards[1][0] = bad;
    EXPECT_ERROR(Decode(Encoded(tr)), "non-finite reward at t=1, column 0 (" + text + ")");
    tr = MakeRandomTrajectory(kSmall, 6);
    tr.truncation_values[0][1] = bad;
    EXPECT_ERROR(Decode(Encoded(tr)), "non-finite truncation value at t=0, column 1");
    tr = MakeRandomTrajectory(kSmall, 6);
    tr.behaviour_logits[1][1][1] = bad;
    EXPECT_ERROR(Decode(Encoded(tr)), "non-finite behaviour logit at t=1, column 1, output 1");
    tr = MakeRandomTrajectory(kSmall, 6);
    tr.initial_memory.hidden[0][1][1][2] = bad;
    EXPECT_ERROR(Decode(Encoded(tr)), "non-finite initial memory value at column 1 (" + text);
  }
}

TEST(WireMalformed, OutOfRangeIntegers) {
  Trajectory tr = MakeRandomTrajectory(kSmall, 7);
  tr.actions[1][1] = 7;
  EXPECT_ERROR(Decode(Encoded(tr)), "action 7 outside [0, 2) at t=1, column 1");
  tr.actions[1][1] = -1;
  EXPECT_ERROR(Decode(Encoded(tr)), "action -1 outside [0, 2) at t=1, column 1");
  tr = MakeRandomTrajectory(kSmall, 7);
  tr.policy_version[0][1] = -3;
  EXPECT_ERROR(Decode(Encoded(tr)), "policy version -3 at t=0, column 1 (expected >= 0)");
  Spec s = SpecOf(MakeRandomTrajectory(kSmall, 7), kSmall, -2, 0);
  EXPECT_ERROR(Decode(Build(s)), "actor rank -2, expected >= 0");
}

TEST(WireMalformed, FlagBytesOtherThanZeroOrOne) {
  const Spec s = SpecOf(MakeRandomTrajectory(kSmall, 8), kSmall, 1, 2);
  for (const char* name : {"first", "terminated", "truncated"}) {
    Bytes bytes = Build(s);
    bytes[ByteOf(s, name) + 3] = std::byte{2};  // element 3 of [T, E=2]: t=1, column 1
    EXPECT_ERROR(Decode(bytes),
                 std::string("flag value 2 in ") + name + " at t=1, column 1 (expected 0 or 1)");
  }
}

TEST(WireMalformed, MemoryValidFlagOtherThanZeroOrOne) {
  Spec s = SpecOf(MakeRandomTrajectory(kSmall, 9), kSmall, 1, 2);
  // Row of column 1: 1*2*4 hidden values, then the M=2 flags; set slot 0 to 0.5.
  const float half = 0.5f;
  const std::size_t flat = 10;
  std::memcpy(s.blobs[EntryIndex(s, "initial_memory")].data() + (flat + 8) * sizeof(float), &half,
              sizeof half);
  EXPECT_ERROR(Decode(Build(s)), "memory valid flag 0.5 at column 1, slot 0 (expected 0 or 1)");
}

TEST(WireMalformed, CorruptCountsAreRejectedWithoutBigAllocations) {
  const Spec good = SpecOf(MakeRandomTrajectory(kSmall, 10), kSmall, 1, 2);
  const auto decode_tracked = [](const Bytes& bytes) {
    g_largest_allocation = 0;
    g_track_allocations = true;
    auto result = Decode(bytes);
    g_track_allocations = false;
    EXPECT_LT(g_largest_allocation.load(), std::size_t{1} << 16) << "decode allocated too much";
    return result;
  };
  // The instrument itself: a tracked megabyte must show.
  g_largest_allocation = 0;
  g_track_allocations = true;
  char* volatile megabyte = new char[1 << 20];  // volatile: the pair must not be elided
  delete[] megabyte;
  g_track_allocations = false;
  ASSERT_GE(g_largest_allocation.load(), std::size_t{1} << 20);

  Spec s = good;
  s.entries[0].shape = {std::int64_t{1} << 40, std::int64_t{1} << 40, 4};
  EXPECT_ERROR(decode_tracked(Build(s)),
               "obs shape [1099511627776, 1099511627776, 4], expected");
  s = good;
  s.entries[0].shape.assign(9, 1);
  EXPECT_ERROR(decode_tracked(Build(s)), "tensor table entry 0 shape rank 9, at most 8");
  s = good;
  s.entries[0].name.assign(65, 'o');
  EXPECT_ERROR(decode_tracked(Build(s)), "tensor table entry 0 name length 65, at most 64");

  // Size tags far beyond anything real, patched into an otherwise valid header: the table's
  // count sits right after the 9 geometry fields, the rank, the sequence number and the error
  // count.
  Bytes bytes = Build(good);
  const std::size_t table_count = 16 + 9 * 8 + 4 + 8 + 8;
  const std::uint64_t huge = std::uint64_t{1} << 62;
  std::memcpy(bytes.data() + table_count, &huge, 8);
  EXPECT_ERROR(decode_tracked(bytes), "tensor table size 4611686018427387904, at most 32");
  bytes = Build(good);
  std::memcpy(bytes.data() + table_count + 8, &huge, 8);  // the first name's length
  EXPECT_ERROR(decode_tracked(bytes), "tensor table entry 0 name length 4611686018427387904");
  s = good;
  s.header_suffix.clear();
  s.entries.resize(1);
  s.blobs.resize(1);
  bytes = Build(s);
  // Ends two bytes into the first entry's name.
  const std::uint32_t short_header = 9 * 8 + 4 + 8 + 8 + 8 + 8 + 2;
  std::memcpy(bytes.data() + 8, &short_header, 4);
  EXPECT_ERROR(decode_tracked(bytes), "header ends early, inside tensor table entry 0 name");
}

// Flips 1-4 random bytes of a valid message, 2,000 times: each decode must fail with a message
// or succeed with content a learner can use.
TEST(WireMalformed, RandomMutationsNeverCrashAndNeverYieldBadContent) {
  const Bytes good = Encoded(MakeRandomTrajectory(kSmall, 11));
  std::mt19937_64 rng(12345);
  int decoded = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    Bytes bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      bytes[rng() % bytes.size()] = static_cast<std::byte>(rng() & 0xff);
    }
    const auto result = Decode(bytes);
    if (std::holds_alternative<std::string>(result)) {
      EXPECT_FALSE(std::get<std::string>(result).empty());
      continue;
    }
    ++decoded;
    const Trajectory& tr = std::get<DecodedTrajectory>(result).trajectory;
    ASSERT_EQ(GeometryOf(tr), kSmall);
    for (const torch::Tensor& f : {tr.obs, tr.rewards, tr.truncation_values, tr.behaviour_logits,
                                   tr.initial_memory.hidden}) {
      ASSERT_TRUE(torch::isfinite(f).all().item<bool>());
    }
    for (const torch::Tensor& b :
         {tr.first, tr.terminated, tr.truncated, tr.initial_memory.valid}) {
      ASSERT_EQ(b.scalar_type(), torch::kBool);
      ASSERT_LE(b.to(torch::kUInt8).max().item<int>(), 1);
    }
    ASSERT_GE(tr.actions.min().item<std::int64_t>(), 0);
    ASSERT_LT(tr.actions.max().item<std::int64_t>(), kSmall.num_actions);
    ASSERT_GE(tr.policy_version.min().item<std::int64_t>(), 0);
  }
  // Most flips land in the payload's floats and are harmless; the header's must be caught.
  RecordProperty("decoded_after_mutation", decoded);
  std::printf("%d of 2000 mutated messages decoded with in-range content\n", decoded);
  EXPECT_GT(decoded, 0);
  EXPECT_LT(decoded, 2000);
}

}  // namespace
}  // namespace colony::wire_test
