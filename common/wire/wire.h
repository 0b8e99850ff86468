// The wire format: how trajectories (actor -> learner), weights (learner -> actor) and the stop
// signal travel over MPI as byte buffers.
//
// Out: an actor calls EncodeTrajectory every T steps and MPI_Isends the buffer; a learner calls
// EncodeWeights after each update and EncodeStop at shutdown. In: whatever arrives goes through
// PeekKind, then DecodeTrajectory or DecodeWeights, which validate every byte against the
// receiver's own expectations and return either owned tensors or an error string. A receiver
// drops a rejected message, counts it and logs the string with the sender's rank; it never
// crashes on one. The ordering check ("ignore weights older than what I hold") is the
// receiver's: the version is in the message.
//
// Layout (docs/wire.md has the details and the sizes): a 16-byte prefix ("CLNY", u32 format
// version, u32 header length, u32 kind), a Cereal binary header (geometry or version and a
// {name, dtype, shape, offset, length} table), zero padding to a multiple of 8, then the raw
// tensor bytes, each tensor 8-aligned. Little-endian host order; mixed-endian clusters are
// unsupported.
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/wire/trajectory.h"

namespace colony {

// 2: geometry action_dim, Box actions; 3: geometry obs_uint8, uint8 observations.
inline constexpr std::uint32_t kWireFormatVersion = 3;

// What a receiver expects; a message that disagrees is rejected.
struct TrajectoryGeometry {
  std::int64_t steps = 0;        // T
  std::int64_t columns = 0;      // E (envs per actor)
  std::int64_t obs_dim = 0;
  std::int64_t num_actions = 0;  // policy outputs per step: behaviour_logits is [T, E, num_actions]
  // Memory geometry (0s for the MLP).
  std::int64_t memory_layers = 0, memory_length = 0, memory_width = 0;
  // Box actions: floats per action (actions are float32 [T, E, action_dim], finite); 0: integer
  // actions, int64 [T, E].
  std::int64_t action_dim = 0;
  // 1: observations are uint8 [T+1, E, obs_dim] (EnvSpec::obs_uint8); 0: float32, finite.
  std::int64_t obs_uint8 = 0;
  // The receiver's bound on integer actions, [0, action_range); 0 means num_actions (Discrete).
  // MultiDiscrete actions are mixed-radix indices below the product of the components' sizes,
  // which num_actions (their sum) does not bound. Not on the wire: the receiver's own knowledge.
  std::int64_t action_range = 0;

  bool operator==(const TrajectoryGeometry&) const = default;
};

// Every field of TrajectoryGeometry that travels in the header, with its name, in header order.
inline constexpr std::pair<const char*, std::int64_t TrajectoryGeometry::*> kGeometryFields[] = {
    {"steps", &TrajectoryGeometry::steps},
    {"columns", &TrajectoryGeometry::columns},
    {"obs_dim", &TrajectoryGeometry::obs_dim},
    {"num_actions", &TrajectoryGeometry::num_actions},
    {"memory_layers", &TrajectoryGeometry::memory_layers},
    {"memory_length", &TrajectoryGeometry::memory_length},
    {"memory_width", &TrajectoryGeometry::memory_width},
    {"action_dim", &TrajectoryGeometry::action_dim},
    {"obs_uint8", &TrajectoryGeometry::obs_uint8}};

// The geometry of a trajectory an actor built (its tensors must agree with each other).
TrajectoryGeometry GeometryOf(const Trajectory& trajectory);

// A random trajectory shaped `g` that passes validation (finite values, episode flags and
// versions in range): input for the wire tests and wire_bench. Seeds torch's CPU generator.
Trajectory MakeRandomTrajectory(const TrajectoryGeometry& g, std::uint64_t seed);

// Encodes into `out` (resized; reuse the buffer across calls to avoid allocations): a fixed
// 16-byte prefix (magic "CLNY", u32 format version, u32 header length, u32 message kind), the
// Cereal binary header (geometry, actor rank, sequence number, environment error count, and one {name, dtype, shape,
// byte offset, byte length} entry per tensor), then the raw tensor bytes (CPU, contiguous).
// The trajectory is our own actor's, so tensors of the wrong dtype or shape are a broken
// invariant (COLONY_CHECK), not an error return. Tensors on another device are copied to the CPU.
// `env_errors`: the actor's count of faults survived in its environments so far (gym:, py:,
// plugin:), so that learners can report it.
void EncodeTrajectory(const Trajectory& trajectory, int actor_rank, std::uint64_t sequence,
                      std::vector<std::byte>& out, std::int64_t env_errors = 0);

struct DecodedTrajectory {
  Trajectory trajectory;
  int actor_rank = -1;
  std::uint64_t sequence = 0;
  std::int64_t env_errors = 0;  // the sender's running count (EncodeTrajectory), >= 0
};
// Never throws on bad bytes and never reads out of bounds: returns an error string instead that
// says what was wrong ("format version 2, expected 1", "obs shape [33,8,5], expected [33,8,4]",
// "payload truncated: 1200 bytes, header promises 4096", "non-finite reward at t=3, column 1",
// "action 7 outside [0, 2)", "non-finite action at t=0, column 2, dimension 1", "flag value 3
// in terminated (expected 0 or 1)", ...).
// The decoded tensors own their memory (CPU), so `bytes` may be reused at once.
std::variant<DecodedTrajectory, std::string> DecodeTrajectory(std::span<const std::byte> bytes,
                                                              const TrajectoryGeometry& expected);

// Weights: the flat float32 parameter buffer and its version.
void EncodeWeights(const torch::Tensor& flat, std::int64_t version, std::vector<std::byte>& out);
struct DecodedWeights {
  torch::Tensor flat;  // [expected_count] float32 on the CPU, owned
  std::int64_t version = 0;
};
std::variant<DecodedWeights, std::string> DecodeWeights(std::span<const std::byte> bytes,
                                                        std::int64_t expected_count);

// The stop signal a learner sends its actors at shutdown: the prefix alone.
void EncodeStop(std::vector<std::byte>& out);

// Cheap peek at a message's kind (trajectory / weights / stop) without decoding; error string if
// the prefix is bad (short, wrong magic, format version or kind, header beyond the message).
enum class MessageKind : std::uint32_t { kTrajectory = 1, kWeights = 2, kStop = 3 };
std::variant<MessageKind, std::string> PeekKind(std::span<const std::byte> bytes);

}  // namespace colony
