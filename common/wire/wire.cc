// Trajectory, weights and stop messages (common/wire/wire.h) on the framing of common/wire_header.h.
//
// Encoding is one pass per tensor: a memcpy for the plain tensors, and one strided copy that
// writes the memory straight into Memory::Flatten's row layout inside the message (no
// intermediate [E, FlatSize] tensor). Decoding checks the prefix, the header and the tensor table
// before touching the payload, copies each tensor out into storage it owns, then checks content
// (finite floats, actions in range, flags 0/1) with plain loops that also name the first bad
// element. Everything that can go wrong with the bytes ends as an error string, never a throw.
#include "common/wire/wire.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "common/base/check.h"
#include "common/base/shape_text.h"
#include "common/wire/wire_header.h"

namespace colony {
static_assert(kWireFormatVersion == wire::kFormatVersion);

namespace {

// Table order; the index of each tensor in TrajectoryTable.
enum Slot { kObs, kFirst, kActions, kRewards, kTerminated, kTruncated, kTruncationValues,
            kLogits, kPolicyVersion, kMemory, kSlots };

std::vector<wire::ExpectedTensor> TrajectoryTable(const TrajectoryGeometry& g) {
  const std::int64_t t = g.steps, e = g.columns;
  const std::int64_t flat = Memory::FlatSize(g.memory_layers, g.memory_length, g.memory_width);
  return {g.obs_uint8 ? wire::ExpectedTensor{"obs", "uint8", 1, {t + 1, e, g.obs_dim}}
                      : wire::ExpectedTensor{"obs", "float32", 4, {t + 1, e, g.obs_dim}},
          {"first", "bool", 1, {t + 1, e}},
          g.action_dim > 0 ? wire::ExpectedTensor{"actions", "float32", 4, {t, e, g.action_dim}}
                           : wire::ExpectedTensor{"actions", "int64", 8, {t, e}},
          {"rewards", "float32", 4, {t, e}},
          {"terminated", "bool", 1, {t, e}},
          {"truncated", "bool", 1, {t, e}},
          {"truncation_values", "float32", 4, {t, e}},
          {"behaviour_logits", "float32", 4, {t, e, g.num_actions}},
          {"policy_version", "int64", 8, {t, e}},
          {"initial_memory", "float32", 4, {e, flat}}};
}

const torch::Tensor* TensorIn(const Trajectory& tr, int slot) {
  const torch::Tensor* tensors[] = {&tr.obs,        &tr.first,     &tr.actions,
                                    &tr.rewards,    &tr.terminated, &tr.truncated,
                                    &tr.truncation_values, &tr.behaviour_logits,
                                    &tr.policy_version};
  return tensors[slot];
}

torch::ScalarType DtypeOf(const wire::ExpectedTensor& want) {
  const std::string d = want.dtype;
  return d == "float32" ? torch::kFloat32
         : d == "int64" ? torch::kInt64
         : d == "uint8" ? torch::kUInt8
                        : torch::kBool;
}

void ZeroPadding(const std::vector<wire::TensorEntry>& table, std::byte* base) {
  std::uint64_t end = 0;
  for (const auto& e : table) {
    std::memset(base + end, 0, e.offset - end);
    end = e.offset + e.length;
  }
}

void CopyIn(const torch::Tensor& t, const wire::ExpectedTensor& want,
            const wire::TensorEntry& entry, std::byte* base) {
  COLONY_CHECK(t.scalar_type() == DtypeOf(want))
      << want.name << ": expected " << want.dtype << ", got " << t.scalar_type();
  // A no-op for the usual CPU, contiguous tensor: no copy before the memcpy.
  const torch::Tensor c = t.to(torch::kCPU).contiguous();
  COLONY_CHECK(static_cast<std::uint64_t>(c.nbytes()) == entry.length) << want.name;
  if (entry.length > 0) std::memcpy(base + entry.offset, c.data_ptr(), entry.length);
}

// Writes Memory::Flatten()'s rows ([E, layers*M*d hidden values, then M flags]) in one copy each.
void CopyMemoryIn(const Memory& m, const TrajectoryGeometry& g, std::byte* dst) {
  const std::int64_t l = g.memory_layers, len = g.memory_length, w = g.memory_width;
  const std::int64_t hidden = l * len * w, flat = hidden + len;
  if (g.columns == 0 || flat == 0) return;
  // The payload start and every offset are 8-aligned in a std::vector's (16-aligned) storage.
  float* rows = reinterpret_cast<float*>(dst);
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  if (hidden > 0) {
    torch::from_blob(rows, {g.columns, l, len, w}, {flat, len * w, w, 1}, f32)
        .copy_(m.hidden.permute({2, 0, 1, 3}));
  }
  if (len > 0) torch::from_blob(rows + hidden, {g.columns, len}, {flat, 1}, f32).copy_(m.valid.t());
}

std::string Number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// "t=3, column 1" for element i of a time-major [T, E, inner] tensor.
std::string Where(std::int64_t i, std::int64_t columns, std::int64_t inner,
                  const char* inner_name) {
  std::string s = "t=" + std::to_string(i / (columns * inner)) +
                  ", column " + std::to_string(i / inner % columns);
  if (inner_name != nullptr) s += std::string(", ") + inner_name + " " + std::to_string(i % inner);
  return s;
}

// Index of the first NaN or infinity in p[0, n), or -1. The first loop has no early exit so
// that it vectorises; the common, clean case never runs the second.
std::int64_t FirstNonFinite(const float* p, std::int64_t n) {
  std::uint32_t bad = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, p + i, sizeof bits);
    bad |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  if (bad == 0) return -1;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(p[i])) return i;
  }
  return -1;
}

void CheckFinite(const torch::Tensor& t, const char* what, std::int64_t columns,
                 std::int64_t inner = 1, const char* inner_name = nullptr) {
  const float* p = t.data_ptr<float>();
  const std::int64_t i = FirstNonFinite(p, t.numel());
  if (i >= 0) {
    throw wire::WireError(std::string("non-finite ") + what + " at " +
                          Where(i, columns, inner, inner_name) + " (" + Number(p[i]) + ")");
  }
}

// Reads a bool tensor as bytes (a byte other than 0/1 is no valid C++ bool), checks, then
// reinterprets the checked bytes as bool without copying.
torch::Tensor CheckedFlags(const torch::Tensor& bytes, const char* what, std::int64_t columns) {
  const std::uint8_t* p = bytes.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < bytes.numel(); ++i) {
    if (p[i] > 1) {
      throw wire::WireError("flag value " + std::to_string(p[i]) + " in " + what + " at " +
                            Where(i, columns, 1, nullptr) + " (expected 0 or 1)");
    }
  }
  return bytes.view(torch::kBool);
}

void CheckMemoryRows(const torch::Tensor& rows, const TrajectoryGeometry& g) {
  const std::int64_t hidden = g.memory_layers * g.memory_length * g.memory_width;
  const std::int64_t flat = hidden + g.memory_length;
  const float* p = rows.data_ptr<float>();
  for (std::int64_t c = 0; c < g.columns; ++c) {
    const float* row = p + c * flat;
    if (const std::int64_t i = FirstNonFinite(row, hidden); i >= 0) {
      throw wire::WireError("non-finite initial memory value at column " + std::to_string(c) +
                            " (" + Number(row[i]) + ")");
    }
    for (std::int64_t m = 0; m < g.memory_length; ++m) {
      const float v = row[hidden + m];
      if (v != 0.0f && v != 1.0f) {
        throw wire::WireError("memory valid flag " + Number(v) + " at column " +
                              std::to_string(c) + ", slot " + std::to_string(m) +
                              " (expected 0 or 1)");
      }
    }
  }
}

void ExpectKind(const wire::Prefix& prefix, MessageKind kind) {
  const auto want = static_cast<std::uint32_t>(kind);
  if (prefix.kind != want) {
    throw wire::WireError("message kind " + std::to_string(prefix.kind) + " (" +
                          wire::KindName(prefix.kind) + "), expected " + std::to_string(want) +
                          " (" + wire::KindName(want) + ")");
  }
}

// Reads the header, checks the table against `want` and returns where the payload starts.
std::size_t CheckedPayload(std::span<const std::byte> bytes, const wire::Prefix& prefix,
                           const std::vector<wire::TensorEntry>& table,
                           const std::vector<wire::ExpectedTensor>& want) {
  const std::size_t start = wire::PayloadStart(prefix.header_length);
  if (bytes.size() < start) {
    throw wire::WireError("payload truncated: message ends at byte " +
                          std::to_string(bytes.size()) + ", before the payload start at byte " +
                          std::to_string(start));
  }
  wire::CheckTable(table, want, bytes.size() - start);
  return start;
}

torch::Tensor Owned(const std::byte* base, const wire::TensorEntry& entry,
                    const wire::ExpectedTensor& want, torch::ScalarType dtype) {
  torch::Tensor t = torch::empty(want.shape, torch::TensorOptions().dtype(dtype));
  if (entry.length > 0) std::memcpy(t.data_ptr(), base + entry.offset, entry.length);
  return t;
}

void CheckGeometry(const TrajectoryGeometry& got, const TrajectoryGeometry& want) {
  for (const auto& [name, field] : kGeometryFields) {
    COLONY_CHECK(want.*field >= 0) << "expected geometry has " << name << " " << want.*field;
    if (got.*field != want.*field) {
      throw wire::WireError(std::string("geometry ") + name + " " + std::to_string(got.*field) +
                            ", expected " + std::to_string(want.*field));
    }
  }
}

DecodedTrajectory DecodeTrajectoryOrThrow(std::span<const std::byte> bytes,
                                          const TrajectoryGeometry& expected) {
  const wire::Prefix prefix = wire::ReadPrefix(bytes);
  ExpectKind(prefix, MessageKind::kTrajectory);
  wire::HeaderReader reader(bytes.subspan(wire::kPrefixBytes, prefix.header_length));
  TrajectoryGeometry got;
  got.steps = reader.Int64("geometry steps");
  got.columns = reader.Int64("geometry columns");
  got.obs_dim = reader.Int64("geometry obs_dim");
  got.num_actions = reader.Int64("geometry num_actions");
  got.memory_layers = reader.Int64("geometry memory_layers");
  got.memory_length = reader.Int64("geometry memory_length");
  got.memory_width = reader.Int64("geometry memory_width");
  got.action_dim = reader.Int64("geometry action_dim");
  got.obs_uint8 = reader.Int64("geometry obs_uint8");
  DecodedTrajectory out;
  out.actor_rank = reader.Int32("actor rank");
  out.sequence = reader.Uint64("sequence number");
  out.env_errors = reader.Int64("environment error count");
  const std::vector<wire::TensorEntry> table = reader.Table();
  reader.ExpectEnd();
  CheckGeometry(got, expected);
  if (out.actor_rank < 0) {
    throw wire::WireError("actor rank " + std::to_string(out.actor_rank) + ", expected >= 0");
  }
  if (out.env_errors < 0) {
    throw wire::WireError("environment error count " + std::to_string(out.env_errors) +
                          ", expected >= 0");
  }
  const std::vector<wire::ExpectedTensor> want = TrajectoryTable(expected);
  const std::byte* base = bytes.data() + CheckedPayload(bytes, prefix, table, want);

  // Copy out first, then check the owned copies: the receive buffer is read exactly once.
  const std::int64_t e = expected.columns;
  auto owned = [&](Slot s, torch::ScalarType dtype) {
    return Owned(base, table[s], want[s], dtype);
  };
  Trajectory& tr = out.trajectory;
  if (expected.obs_uint8) {
    tr.obs = owned(kObs, torch::kUInt8);  // every byte is a valid observation value
  } else {
    tr.obs = owned(kObs, torch::kFloat32);
    CheckFinite(tr.obs, "obs", e, expected.obs_dim);
  }
  tr.first = CheckedFlags(owned(kFirst, torch::kUInt8), "first", e);
  if (expected.action_dim > 0) {
    tr.actions = owned(kActions, torch::kFloat32);
    CheckFinite(tr.actions, "action", e, expected.action_dim, "dimension");
  } else {
    tr.actions = owned(kActions, torch::kInt64);
    const std::int64_t range = expected.action_range > 0 ? expected.action_range
                                                         : expected.num_actions;
    const std::int64_t* actions = tr.actions.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < tr.actions.numel(); ++i) {
      if (actions[i] < 0 || actions[i] >= range) {
        throw wire::WireError("action " + std::to_string(actions[i]) + " outside [0, " +
                              std::to_string(range) + ") at " + Where(i, e, 1, nullptr));
      }
    }
  }
  tr.rewards = owned(kRewards, torch::kFloat32);
  CheckFinite(tr.rewards, "reward", e);
  tr.terminated = CheckedFlags(owned(kTerminated, torch::kUInt8), "terminated", e);
  tr.truncated = CheckedFlags(owned(kTruncated, torch::kUInt8), "truncated", e);
  tr.truncation_values = owned(kTruncationValues, torch::kFloat32);
  CheckFinite(tr.truncation_values, "truncation value", e);
  tr.behaviour_logits = owned(kLogits, torch::kFloat32);
  CheckFinite(tr.behaviour_logits, "behaviour logit", e, expected.num_actions, "output");
  tr.policy_version = owned(kPolicyVersion, torch::kInt64);
  const std::int64_t* versions = tr.policy_version.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < tr.policy_version.numel(); ++i) {
    if (versions[i] < 0) {
      throw wire::WireError("policy version " + std::to_string(versions[i]) + " at " +
                            Where(i, e, 1, nullptr) + " (expected >= 0)");
    }
  }
  const torch::Tensor rows = owned(kMemory, torch::kFloat32);
  CheckMemoryRows(rows, expected);
  tr.initial_memory = Memory::Unflatten(rows, expected.memory_layers, expected.memory_length,
                                        expected.memory_width);
  return out;
}

DecodedWeights DecodeWeightsOrThrow(std::span<const std::byte> bytes, std::int64_t expected_count) {
  COLONY_CHECK(expected_count >= 0) << "expected weight count " << expected_count;
  const wire::Prefix prefix = wire::ReadPrefix(bytes);
  ExpectKind(prefix, MessageKind::kWeights);
  wire::HeaderReader reader(bytes.subspan(wire::kPrefixBytes, prefix.header_length));
  DecodedWeights out;
  out.version = reader.Int64("weights version");
  const std::vector<wire::TensorEntry> table = reader.Table();
  reader.ExpectEnd();
  if (out.version < 0) {
    throw wire::WireError("weights version " + std::to_string(out.version) + ", expected >= 0");
  }
  const std::vector<wire::ExpectedTensor> want = {{"flat", "float32", 4, {expected_count}}};
  const std::byte* base = bytes.data() + CheckedPayload(bytes, prefix, table, want);
  out.flat = Owned(base, table[0], want[0], torch::kFloat32);
  const float* p = out.flat.data_ptr<float>();
  if (const std::int64_t i = FirstNonFinite(p, expected_count); i >= 0) {
    throw wire::WireError("non-finite weight at index " + std::to_string(i) + " (" +
                          Number(p[i]) + ")");
  }
  return out;
}

// Turns whatever a decoder threw into the error string of the API.
template <typename Decode>
auto Guarded(const char* what, Decode decode)
    -> std::variant<decltype(decode()), std::string> {
  try {
    return decode();
  } catch (const wire::WireError& e) {
    return std::string(e.what());
  } catch (const c10::Error& e) {
    return std::string("malformed ") + what + ": " + e.what_without_backtrace();
  } catch (const std::exception& e) {
    return std::string("malformed ") + what + ": " + e.what();
  }
}

}  // namespace

TrajectoryGeometry GeometryOf(const Trajectory& tr) {
  COLONY_CHECK(tr.actions.defined() && (tr.actions.dim() == 2 || tr.actions.dim() == 3))
      << "actions must be [T, E] (integer) or [T, E, D] (Box)";
  COLONY_CHECK(tr.obs.defined() && tr.obs.dim() == 3) << "obs must be [T+1, E, obs_dim]";
  COLONY_CHECK(tr.behaviour_logits.defined() && tr.behaviour_logits.dim() == 3)
      << "behaviour_logits must be [T, E, A]";
  const Memory& m = tr.initial_memory;
  COLONY_CHECK(m.hidden.defined() && m.hidden.dim() == 4 && m.valid.defined())
      << "initial_memory must be [layers, M, E, d_model] with valid flags";
  TrajectoryGeometry g{tr.actions.size(0), tr.actions.size(1),     tr.obs.size(2),
                       tr.behaviour_logits.size(2), m.layers(), m.length(), m.width(),
                       tr.actions.dim() == 3 ? tr.actions.size(2) : 0,
                       tr.obs.scalar_type() == torch::kUInt8 ? 1 : 0};
  const std::vector<wire::ExpectedTensor> want = TrajectoryTable(g);
  for (int s = 0; s < kMemory; ++s) {
    const torch::Tensor& t = *TensorIn(tr, s);
    COLONY_CHECK(t.defined() && t.sizes().vec() == want[s].shape)
        << want[s].name << ": expected " << ShapeText(want[s].shape) << ", got "
        << (t.defined() ? ShapeText(t.sizes()) : "undefined");
  }
  COLONY_CHECK(m.batch() == g.columns && m.valid.sizes().vec() ==
                                             std::vector<std::int64_t>{g.memory_length, g.columns})
      << "initial_memory has " << m.batch() << " columns, expected " << g.columns;
  return g;
}

void EncodeTrajectory(const Trajectory& trajectory, int actor_rank, std::uint64_t sequence,
                      std::vector<std::byte>& out, std::int64_t env_errors) {
  const TrajectoryGeometry g = GeometryOf(trajectory);
  const std::vector<wire::ExpectedTensor> want = TrajectoryTable(g);
  std::vector<wire::TensorEntry> table;
  const std::uint64_t payload_bytes = wire::LayOut(want, table);
  std::uint32_t header_length = 0;
  {
    wire::HeaderWriter header(out);
    for (const auto& [name, field] : kGeometryFields) header.Int64(g.*field);
    header.Int32(actor_rank);
    header.Uint64(sequence);
    header.Int64(env_errors);
    header.Table(table);
    header_length = header.Length();
  }
  const std::size_t start = wire::PayloadStart(header_length);
  out.resize(start + payload_bytes);
  wire::WritePrefix(static_cast<std::uint32_t>(MessageKind::kTrajectory), header_length,
                    out.data());
  const std::size_t header_end = wire::kPrefixBytes + header_length;
  std::memset(out.data() + header_end, 0, start - header_end);
  std::byte* base = out.data() + start;
  ZeroPadding(table, base);
  for (int s = 0; s < kMemory; ++s) CopyIn(*TensorIn(trajectory, s), want[s], table[s], base);
  CopyMemoryIn(trajectory.initial_memory, g, base + table[kMemory].offset);
}

std::variant<DecodedTrajectory, std::string> DecodeTrajectory(std::span<const std::byte> bytes,
                                                              const TrajectoryGeometry& expected) {
  return Guarded("trajectory", [&] { return DecodeTrajectoryOrThrow(bytes, expected); });
}

void EncodeWeights(const torch::Tensor& flat, std::int64_t version, std::vector<std::byte>& out) {
  COLONY_CHECK(flat.defined() && flat.dim() == 1 && flat.scalar_type() == torch::kFloat32)
      << "weights must be one flat float32 buffer";
  const std::vector<wire::ExpectedTensor> want = {{"flat", "float32", 4, {flat.numel()}}};
  std::vector<wire::TensorEntry> table;
  const std::uint64_t payload_bytes = wire::LayOut(want, table);
  std::uint32_t header_length = 0;
  {
    wire::HeaderWriter header(out);
    header.Int64(version);
    header.Table(table);
    header_length = header.Length();
  }
  const std::size_t start = wire::PayloadStart(header_length);
  out.resize(start + payload_bytes);
  wire::WritePrefix(static_cast<std::uint32_t>(MessageKind::kWeights), header_length, out.data());
  const std::size_t header_end = wire::kPrefixBytes + header_length;
  std::memset(out.data() + header_end, 0, start - header_end);
  CopyIn(flat, want[0], table[0], out.data() + start);
}

std::variant<DecodedWeights, std::string> DecodeWeights(std::span<const std::byte> bytes,
                                                        std::int64_t expected_count) {
  return Guarded("weights", [&] { return DecodeWeightsOrThrow(bytes, expected_count); });
}

void EncodeStop(std::vector<std::byte>& out) {
  out.resize(wire::kPrefixBytes);
  wire::WritePrefix(static_cast<std::uint32_t>(MessageKind::kStop), /*header_length=*/0,
                    out.data());
}

std::variant<MessageKind, std::string> PeekKind(std::span<const std::byte> bytes) {
  try {
    return static_cast<MessageKind>(wire::ReadPrefix(bytes).kind);
  } catch (const wire::WireError& e) {
    return std::string(e.what());
  }
}

Trajectory MakeRandomTrajectory(const TrajectoryGeometry& g, std::uint64_t seed) {
  torch::manual_seed(seed);
  const std::int64_t t = g.steps, e = g.columns;
  Trajectory tr;
  tr.obs = g.obs_uint8 ? torch::randint(0, 256, {t + 1, e, g.obs_dim}, torch::kUInt8)
                      : torch::randn({t + 1, e, g.obs_dim});
  tr.first = torch::rand({t + 1, e}) < 0.3;
  tr.actions = g.action_dim > 0 ? torch::randn({t, e, g.action_dim})
                                : torch::randint(0, g.action_range > 0 ? g.action_range
                                                                       : g.num_actions,
                                                 {t, e}, torch::kLong);
  tr.rewards = torch::randn({t, e});
  tr.terminated = torch::rand({t, e}) < 0.2;
  tr.truncated = torch::rand({t, e}) < 0.2;
  tr.truncation_values = torch::randn({t, e}) * tr.truncated;
  tr.behaviour_logits = torch::randn({t, e, g.num_actions});
  tr.policy_version = torch::randint(0, 100, {t, e}, torch::kLong);
  tr.initial_memory.hidden = torch::randn({g.memory_layers, g.memory_length, e, g.memory_width});
  tr.initial_memory.valid = torch::rand({g.memory_length, e}) < 0.5;
  return tr;
}

}  // namespace colony
