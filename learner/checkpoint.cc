// Checkpoint files (learner/checkpoint.h).
#include "learner/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <dirent.h>
#include <fcntl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/base/files.h"
#include "common/base/hash.h"
#include "common/model/policy.h"
#include "learner/optimizer.h"

namespace colony {
namespace {

constexpr char kMagic[8] = {'C', 'O', 'L', 'O', 'N', 'Y', 'C', 'K'};
constexpr std::size_t kHeaderBytes = 32;  // magic, u32 format, u32 zero, u64 size, u64 FNV
constexpr const char* kWeightsFile = "weights.safetensors";
constexpr const char* kStateFile = "state.bin";

// Returns false if the file cannot be opened.
bool ReadWholeFile(const std::string& path, std::string* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream out;
  out << in.rdbuf();
  *bytes = out.str();
  return true;
}

// Everything in state.bin after the header.
struct Payload {
  CheckpointCounters counters;
  std::uint64_t weights_checksum = 0;
  std::string optimizer;  // torch::serialize::OutputArchive bytes
  std::string rng;        // the CPU generator's state tensor, as bytes
  std::uint32_t format = kCheckpointFormatVersion;  // from the header; not itself archived

  template <class Archive>
  void serialize(Archive& ar) {
    ar(counters.frames, counters.learner_steps, counters.version, counters.config_json,
       weights_checksum, optimizer, rng);
    if (format >= 2) ar(counters.return_mean_square);
  }
};

Payload ReadPayload(const std::string& dir) {
  const std::string path = dir + "/" + kStateFile;
  std::string bytes;
  if (!ReadWholeFile(path, &bytes)) {
    throw CheckpointError(path + ": cannot open (" + std::strerror(errno) + ")");
  }
  if (bytes.size() < kHeaderBytes) {
    throw CheckpointError(path + ": truncated: " + std::to_string(bytes.size()) +
                          " bytes, shorter than the " + std::to_string(kHeaderBytes) +
                          "-byte header");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw CheckpointError(path + ": not a Colony checkpoint state (bad magic)");
  }
  std::uint32_t format = 0;
  std::uint64_t size = 0;
  std::uint64_t checksum = 0;
  std::memcpy(&format, bytes.data() + 8, sizeof(format));
  std::memcpy(&size, bytes.data() + 16, sizeof(size));
  std::memcpy(&checksum, bytes.data() + 24, sizeof(checksum));
  if (format < 1 || format > kCheckpointFormatVersion) {
    throw CheckpointError(path + ": format version " + std::to_string(format) +
                          ", expected 1 to " + std::to_string(kCheckpointFormatVersion));
  }
  if (bytes.size() - kHeaderBytes != size) {
    throw CheckpointError(path + ": truncated or padded: header says " + std::to_string(size) +
                          " payload bytes, found " + std::to_string(bytes.size() - kHeaderBytes));
  }
  const std::string payload_bytes = bytes.substr(kHeaderBytes);
  if (Fnv1a(payload_bytes) != checksum) {
    throw CheckpointError(path + ": checksum mismatch (the file is corrupted)");
  }
  Payload payload;
  payload.format = format;
  try {
    std::istringstream in(payload_bytes);
    cereal::BinaryInputArchive archive(in);
    archive(payload);
  } catch (const std::exception& error) {
    throw CheckpointError(path + ": unreadable payload: " + error.what());
  }
  const std::string weights = dir + "/" + kWeightsFile;
  std::string weight_bytes;
  if (!ReadWholeFile(weights, &weight_bytes)) {
    throw CheckpointError(weights + ": cannot open (" + std::strerror(errno) + ")");
  }
  if (Fnv1a(weight_bytes) != payload.weights_checksum) {
    throw CheckpointError(weights + ": checksum mismatch with state.bin (the file is corrupted "
                          "or truncated)");
  }
  return payload;
}

void FsyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) throw std::runtime_error(dir + ": cannot open to fsync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw std::runtime_error(dir + ": fsync failed: " + std::strerror(errno));
}

bool IsDirectory(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return false;
  ::closedir(dir);
  return true;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return names;
  while (const dirent* entry = ::readdir(handle)) names.emplace_back(entry->d_name);
  ::closedir(handle);
  return names;
}

bool IsCheckpointName(const std::string& name) {
  if (name.size() != 17 || name.rfind("ckpt-", 0) != 0) return false;
  return std::all_of(name.begin() + 5, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string CheckpointPath(const std::string& run_dir, std::int64_t frames) {
  char name[32];
  std::snprintf(name, sizeof(name), "ckpt-%012lld", static_cast<long long>(frames));
  return run_dir + "/checkpoints/" + name;
}

std::vector<std::string> ListCheckpoints(const std::string& run_dir) {
  const std::string root = run_dir + "/checkpoints";
  std::vector<std::string> names;
  for (const auto& name : Entries(root)) {
    if (IsCheckpointName(name)) names.push_back(name);
  }
  std::sort(names.rbegin(), names.rend());  // zero-padded: by name is by frames
  for (auto& name : names) name = root + "/" + name;
  return names;
}

std::string SaveCheckpoint(const std::string& run_dir, Policy& policy, Optimizer& optimizer,
                           const CheckpointCounters& counters, std::int64_t keep) {
  const std::string root = run_dir + "/checkpoints";
  const std::string final_dir = CheckpointPath(run_dir, counters.frames);
  MakeDirectories(root);
  // The same frames mean the same updates, hence the same state: nothing new to write.
  if (IsDirectory(final_dir)) return final_dir;
  const std::string temp_dir = final_dir + ".tmp." + std::to_string(::getpid());
  RemoveTree(temp_dir);
  MakeDirectories(temp_dir);

  const std::string weights = temp_dir + "/" + kWeightsFile;
  policy.SaveSafetensors(weights);  // itself atomic and fsynced
  Payload payload;
  payload.counters = counters;
  std::string weight_bytes;
  if (!ReadWholeFile(weights, &weight_bytes)) {
    throw std::runtime_error(weights + ": cannot read back what was just written");
  }
  payload.weights_checksum = Fnv1a(weight_bytes);
  {
    torch::serialize::OutputArchive archive;
    optimizer.impl().save(archive);
    std::ostringstream out;
    archive.save_to(out);
    payload.optimizer = out.str();
  }
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    const torch::Tensor state = generator.get_state().contiguous();
    payload.rng.assign(static_cast<const char*>(state.data_ptr()), state.nbytes());
  }
  std::ostringstream payload_out;
  {
    cereal::BinaryOutputArchive archive(payload_out);
    archive(payload);
  }
  const std::string payload_bytes = payload_out.str();
  std::string header(kHeaderBytes, '\0');
  const std::uint32_t format = kCheckpointFormatVersion;
  const std::uint64_t size = payload_bytes.size();
  const std::uint64_t checksum = Fnv1a(payload_bytes);
  std::memcpy(header.data(), kMagic, sizeof(kMagic));
  std::memcpy(header.data() + 8, &format, sizeof(format));
  std::memcpy(header.data() + 16, &size, sizeof(size));
  std::memcpy(header.data() + 24, &checksum, sizeof(checksum));
  WriteFileAtomically(temp_dir + "/" + kStateFile, header + payload_bytes);
  FsyncDirectory(temp_dir);

  // The rename is the commit point: before it the checkpoint does not exist, after it whole.
  if (std::rename(temp_dir.c_str(), final_dir.c_str()) != 0) {
    throw std::runtime_error("renaming " + temp_dir + " to " + final_dir + ": " +
                             std::strerror(errno));
  }
  FsyncDirectory(root);

  const auto all = ListCheckpoints(run_dir);
  for (std::size_t i = static_cast<std::size_t>(std::max<std::int64_t>(keep, 1)); i < all.size();
       ++i) {
    RemoveTree(all[i]);
  }
  return final_dir;
}

CheckpointCounters ReadCheckpointState(const std::string& checkpoint_dir) {
  if (!IsDirectory(checkpoint_dir)) {
    throw CheckpointError(checkpoint_dir + ": not a checkpoint directory (expected "
                          "RUN_DIR/checkpoints/ckpt-<frames> holding state.bin and "
                          "weights.safetensors)");
  }
  return ReadPayload(checkpoint_dir).counters;
}

CheckpointCounters LoadCheckpoint(const std::string& checkpoint_dir, Policy& policy,
                                  Optimizer& optimizer) {
  if (!IsDirectory(checkpoint_dir)) ReadCheckpointState(checkpoint_dir);  // throws the message
  const Payload payload = ReadPayload(checkpoint_dir);
  const std::string weights = checkpoint_dir + "/" + kWeightsFile;

  // Everything into temporaries first: a failure below leaves policy and optimizer as they were.
  auto staged = MakePolicy(policy.config());
  try {
    staged->LoadSafetensors(weights);
  } catch (const std::exception& error) {
    throw CheckpointError(std::string(error.what()).find(weights) == std::string::npos
                              ? weights + ": " + error.what()
                              : std::string(error.what()));
  }
  const std::string state_path = checkpoint_dir + "/" + kStateFile;
  try {
    Optimizer staged_optimizer(staged->parameters(), optimizer.config(), optimizer.total_frames());
    torch::serialize::InputArchive archive;
    std::istringstream in(payload.optimizer);
    archive.load_from(in, torch::kCPU);
    staged_optimizer.impl().load(archive);
  } catch (const std::exception& error) {
    throw CheckpointError(state_path + ": optimiser state does not fit this run (" +
                          optimizer.config().kind + " over " +
                          std::to_string(policy.parameter_count()) + " parameters): " +
                          error.what());
  }
  auto generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    const auto expected = generator.get_state().nbytes();
    if (payload.rng.size() != expected) {
      throw CheckpointError(state_path + ": RNG state of " + std::to_string(payload.rng.size()) +
                            " bytes, expected " + std::to_string(expected));
    }
  }

  // All checked; now change the live objects.
  const torch::Device device = policy.flat_parameters().device();
  {
    torch::NoGradGuard no_grad;
    policy.flat_parameters().copy_(staged->flat_parameters());
  }
  policy.set_version(payload.counters.version);
  {
    torch::serialize::InputArchive archive;
    std::istringstream in(payload.optimizer);
    archive.load_from(in, device);
    optimizer.impl().load(archive);
  }
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    torch::Tensor state = torch::empty({static_cast<std::int64_t>(payload.rng.size())},
                                       torch::kUInt8);
    std::memcpy(state.data_ptr(), payload.rng.data(), payload.rng.size());
    generator.set_state(state);
  }
  return payload.counters;
}

std::string FindResumeCheckpoint(const std::string& run_dir) {
  const auto all = ListCheckpoints(run_dir);
  for (const auto& dir : all) {
    try {
      ReadPayload(dir);
      return dir;
    } catch (const CheckpointError& error) {
      std::fprintf(stderr, "colony: skipping %s: %s\n", dir.c_str(), error.what());
    }
  }
  throw CheckpointError(run_dir + "/checkpoints: no usable checkpoint to resume from (" +
                        std::to_string(all.size()) + " found" +
                        (all.empty() ? "" : ", all damaged") + ")");
}

}  // namespace colony
