// Round trips of the wire format (common/wire/wire.h): trajectories bit-exact for the GTrXL and the
// MLP (zero-sized memory) geometry, decoded tensors owning their storage, a reused encode
// buffer, byte-for-byte agreement with the independent encoder of tests/wire_test_util.h,
// weights and the stop message. The malformed-message battery is tests/wire_malformed_test.cc.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <variant>
#include <vector>

#include "common/wire/wire.h"
#include "tests/wire_test_util.h"

namespace colony::wire_test {
namespace {

DecodedTrajectory RoundTrip(const Trajectory& tr, const TrajectoryGeometry& g, Bytes& buffer) {
  EncodeTrajectory(tr, /*actor_rank=*/5, /*sequence=*/77, buffer);
  auto decoded = DecodeTrajectory(buffer, g);
  EXPECT_EQ(ErrorOf(decoded), "");
  return std::holds_alternative<DecodedTrajectory>(decoded) ? std::get<DecodedTrajectory>(decoded)
                                                            : DecodedTrajectory{};
}

TEST(Wire, GtrxlTrajectoryRoundTripIsBitExact) {
  const Trajectory tr = MakeRandomTrajectory(kDefault, 1);
  EXPECT_EQ(GeometryOf(tr), kDefault);
  Bytes buffer;
  const DecodedTrajectory d = RoundTrip(tr, kDefault, buffer);
  EXPECT_EQ(d.actor_rank, 5);
  EXPECT_EQ(d.sequence, 77u);
  ExpectSameTrajectory(d.trajectory, tr);
  EXPECT_EQ(d.trajectory.steps(), 32);
  EXPECT_EQ(d.trajectory.columns(), 16);
}

// Box actions are float32 [T, E, D] (geometry action_dim D); the actor's environment error count
// travels in the header.
TEST(Wire, BoxActionsAndTheErrorCountRoundTrip) {
  TrajectoryGeometry g = kSmall;
  g.num_actions = 6;  // 3 means and 3 log-stds
  g.action_dim = 3;
  const Trajectory tr = MakeRandomTrajectory(g, 11);
  ASSERT_EQ(tr.actions.scalar_type(), torch::kFloat32);
  EXPECT_EQ(GeometryOf(tr), g);
  Bytes buffer;
  EncodeTrajectory(tr, /*actor_rank=*/2, /*sequence=*/4, buffer, /*env_errors=*/17);
  EXPECT_TRUE(buffer == Build([&] {
    Spec s = SpecOf(tr, g, 2, 4);
    s.env_errors = 17;
    return s;
  }()));
  auto decoded = DecodeTrajectory(buffer, g);
  ASSERT_EQ(ErrorOf(decoded), "");
  const DecodedTrajectory& d = std::get<DecodedTrajectory>(decoded);
  EXPECT_EQ(d.env_errors, 17);
  ExpectSameTrajectory(d.trajectory, tr);
  // The receiver expects integer actions: the geometry says so first.
  EXPECT_ERROR(DecodeTrajectory(buffer, kSmall), "geometry num_actions 6, expected 2");
  TrajectoryGeometry integer = g;
  integer.action_dim = 0;
  EXPECT_ERROR(DecodeTrajectory(buffer, integer), "geometry action_dim 3, expected 0");
  Trajectory bad = tr;
  bad.actions[1][0][2] = std::nanf("");
  EncodeTrajectory(bad, 2, 4, buffer);
  EXPECT_ERROR(DecodeTrajectory(buffer, g), "non-finite action at t=1, column 0, dimension 2");
  Spec negative = SpecOf(tr, g, 2, 4);
  negative.env_errors = -1;
  EXPECT_ERROR(DecodeTrajectory(Build(negative), g), "environment error count -1, expected >= 0");
}

// MultiDiscrete actions are mixed-radix integers: bounded by the receiver's action_range (the
// product of the components' sizes), not by num_actions (their sum).
TEST(Wire, MultiDiscreteActionsAreBoundedByTheirRange) {
  TrajectoryGeometry g = kSmall;
  g.num_actions = 5;   // MultiDiscrete([2 3]): 2 + 3 logits
  g.action_range = 6;  // 2 x 3 actions
  Trajectory tr = MakeRandomTrajectory(g, 12);
  tr.actions.fill_(5);
  Bytes buffer;
  EncodeTrajectory(tr, 1, 1, buffer);
  EXPECT_EQ(ErrorOf(DecodeTrajectory(buffer, g)), "");
  tr.actions[0][1] = 6;
  EncodeTrajectory(tr, 1, 1, buffer);
  EXPECT_ERROR(DecodeTrajectory(buffer, g), "action 6 outside [0, 6) at t=0, column 1");
}

// Byte observations (geometry obs_uint8) travel as uint8: a quarter of float32's bytes, every
// value valid, and a receiver that expects the other kind refuses the message by its geometry.
TEST(Wire, Uint8ObservationsRoundTripInAQuarterOfTheBytes) {
  TrajectoryGeometry g = kDefault;
  g.obs_dim = 147;  // MiniGrid's 7x7x3 view
  g.obs_uint8 = 1;
  const Trajectory tr = MakeRandomTrajectory(g, 13);
  ASSERT_EQ(tr.obs.scalar_type(), torch::kUInt8);
  EXPECT_EQ(GeometryOf(tr), g);
  Bytes bytes;
  const DecodedTrajectory d = RoundTrip(tr, g, bytes);
  ExpectSameTrajectory(d.trajectory, tr);
  EXPECT_TRUE(bytes == Build(SpecOf(tr, g, 5, 77)));
  TrajectoryGeometry as_floats = g;
  as_floats.obs_uint8 = 0;
  Trajectory float_tr = tr;
  float_tr.obs = tr.obs.to(torch::kFloat32);
  Bytes floats;
  EncodeTrajectory(float_tr, 5, 77, floats);
  EXPECT_EQ(floats.size() - bytes.size(),
            static_cast<std::size_t>(3 * tr.obs.numel()));  // 4 bytes per value against 1
  EXPECT_ERROR(DecodeTrajectory(bytes, as_floats), "geometry obs_uint8 1, expected 0");
  EXPECT_ERROR(DecodeTrajectory(floats, g), "geometry obs_uint8 0, expected 1");
}

TEST(Wire, MlpTrajectoryWithEmptyMemoryRoundTrips) {
  Trajectory tr = MakeRandomTrajectory(kMlp, 2);
  EXPECT_EQ(tr.initial_memory.hidden.numel(), 0);
  Bytes buffer;
  const DecodedTrajectory d = RoundTrip(tr, kMlp, buffer);
  ExpectSameTrajectory(d.trajectory, tr);
  EXPECT_EQ(d.trajectory.initial_memory.batch(), 16);
}

TEST(Wire, DecodedTensorsOwnTheirStorage) {
  const Trajectory tr = MakeRandomTrajectory(kSmall, 3);
  Bytes buffer;
  const DecodedTrajectory d = RoundTrip(tr, kSmall, buffer);
  std::memset(buffer.data(), 0xff, buffer.size());  // the receive buffer is reused at once
  ExpectSameTrajectory(d.trajectory, tr);
}

TEST(Wire, ReusedBufferEncodesTheNewTrajectory) {
  Bytes buffer;
  EncodeTrajectory(MakeRandomTrajectory(kDefault, 4), 1, 1, buffer);
  const std::byte* storage = buffer.data();
  const Trajectory second = MakeRandomTrajectory(kDefault, 5);
  const DecodedTrajectory d = RoundTrip(second, kDefault, buffer);
  EXPECT_EQ(buffer.data(), storage) << "same size: the buffer must not be reallocated";
  ExpectSameTrajectory(d.trajectory, second);
  // A smaller message after a larger one: the buffer shrinks to the exact size.
  const Trajectory small = MakeRandomTrajectory(kSmall, 6);
  ExpectSameTrajectory(RoundTrip(small, kSmall, buffer).trajectory, small);
}

TEST(Wire, EncoderMatchesTheDocumentedLayoutByteForByte) {
  for (const TrajectoryGeometry& g : {kSmall, kDefault, kMlp}) {
    const Trajectory tr = MakeRandomTrajectory(g, 7);
    Bytes encoded;
    EncodeTrajectory(tr, /*actor_rank=*/3, /*sequence=*/9, encoded);
    EXPECT_TRUE(encoded == Build(SpecOf(tr, g, 3, 9)));
  }
}

TEST(Wire, NonContiguousTensorsEncodeByValue) {
  Trajectory tr = MakeRandomTrajectory(kSmall, 8);
  const Trajectory reference = tr;
  tr.obs = tr.obs.transpose(0, 1).contiguous().transpose(0, 1);  // same values, other strides
  ASSERT_FALSE(tr.obs.is_contiguous());
  Bytes buffer;
  ExpectSameTrajectory(RoundTrip(tr, kSmall, buffer).trajectory, reference);
}

TEST(Wire, WeightsRoundTripIsBitExact) {
  const torch::Tensor flat = torch::randn({1234});
  Bytes buffer;
  EncodeWeights(flat, /*version=*/42, buffer);
  EXPECT_EQ(std::get<MessageKind>(PeekKind(buffer)), MessageKind::kWeights);
  auto decoded = DecodeWeights(buffer, 1234);
  ASSERT_EQ(ErrorOf(decoded), "");
  const DecodedWeights& w = std::get<DecodedWeights>(decoded);
  EXPECT_EQ(w.version, 42);
  std::memset(buffer.data(), 0, buffer.size());
  EXPECT_TRUE(torch::equal(w.flat, flat));
  EXPECT_EQ(w.flat.scalar_type(), torch::kFloat32);
}

TEST(Wire, WeightsOfAnotherSizeOrBadContentAreRejected) {
  Bytes buffer;
  EncodeWeights(torch::randn({10}), 3, buffer);
  EXPECT_ERROR(DecodeWeights(buffer, 12), "flat shape [10], expected [12]");
  torch::Tensor bad = torch::randn({10});
  bad[4] = std::numeric_limits<float>::quiet_NaN();
  EncodeWeights(bad, 3, buffer);
  EXPECT_ERROR(DecodeWeights(buffer, 10), "non-finite weight at index 4 (nan)");
  EncodeWeights(torch::randn({10}), -1, buffer);
  EXPECT_ERROR(DecodeWeights(buffer, 10), "weights version -1, expected >= 0");
  EncodeWeights(torch::randn({10}), 3, buffer);
  for (std::size_t n = 0; n < buffer.size(); ++n) {
    EXPECT_NE(ErrorOf(DecodeWeights(std::span(buffer).first(n), 10)), "") << "length " << n;
  }
  EncodeTrajectory(MakeRandomTrajectory(kSmall, 9), 0, 0, buffer);
  EXPECT_ERROR(DecodeWeights(buffer, 10), "message kind 1 (trajectory), expected 2 (weights)");
}

TEST(Wire, PeekKindNamesEachKindAndRejectsBadPrefixes) {
  Bytes buffer;
  EncodeStop(buffer);
  EXPECT_EQ(buffer.size(), 16u);
  EXPECT_EQ(std::get<MessageKind>(PeekKind(buffer)), MessageKind::kStop);
  EncodeTrajectory(MakeRandomTrajectory(kSmall, 10), 0, 0, buffer);
  EXPECT_EQ(std::get<MessageKind>(PeekKind(buffer)), MessageKind::kTrajectory);
  EXPECT_ERROR(PeekKind(std::span(buffer).first(15)),
               "message of 15 bytes is shorter than the 16-byte prefix");
  buffer[1] = std::byte{'X'};
  EXPECT_ERROR(PeekKind(buffer), "bad magic");
  EncodeStop(buffer);
  EXPECT_ERROR(DecodeTrajectory(buffer, kSmall), "message kind 3 (stop), expected 1 (trajectory)");
}

}  // namespace
}  // namespace colony::wire_test
