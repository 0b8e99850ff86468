// Safetensors checkpoints (common/model/safetensors.h, Policy::Save/LoadSafetensors): a round
// trip restores weights and version exactly; every kind of bad file (including tensors that
// overlap, leave gaps or leave trailing bytes) is refused with a message naming the file, the
// tensor and expected vs got, and leaves the model as it was.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "common/model/policy.h"
#include "common/model/safetensors.h"

namespace colony {
namespace {

// POSIX, not std::filesystem: LibTorch exports its own copies of those symbols, and calls can
// land in them (remove_all crashed that way).
std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* entry = ::readdir(d)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
  }
  return names;
}

std::uint64_t ReadHeaderLength(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  return n;
}

std::int64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

ModelConfig Tiny() {
  ModelConfig c;
  c.obs_dim = 3;
  c.num_actions = 2;
  c.layers = 1;
  c.d_model = 8;
  c.heads = 2;
  c.d_ff = 16;
  c.memory = 4;
  return c;
}

// `call` must throw ModelFileError whose message starts with `path` and holds every fragment.
void ExpectModelFileError(const std::function<void()>& call, const std::string& path,
                          const std::vector<std::string>& fragments) {
  try {
    call();
    ADD_FAILURE() << "expected ModelFileError for " << path;
  } catch (const ModelFileError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path, 0), 0u) << "message must start with the path: " << message;
    for (const auto& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "missing '" << fragment << "' in: " << message;
    }
  }
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/colony_safetensors_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    source_ = MakePolicy(Tiny());
    source_->set_version(17);
    target_ = MakePolicy(Tiny());
    target_->set_version(3);
    before_ = target_->flat_parameters().clone();
  }
  void TearDown() override {
    for (const std::string& name : ListDir(dir_)) ::unlink(Path(name).c_str());
    ::rmdir(dir_.c_str());
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  NamedTensors SourceTensors() const {
    NamedTensors tensors;
    for (const auto& item : source_->named_parameters()) {
      tensors.emplace_back(item.key(), item.value().detach().clone());
    }
    return tensors;
  }

  // Loading `path` into the target must fail with a message holding every fragment, and leave
  // the target's weights and version untouched.
  void ExpectRefused(const std::string& path, const std::vector<std::string>& fragments) {
    ExpectModelFileError([&] { target_->LoadSafetensors(path); }, path, fragments);
    EXPECT_TRUE(torch::equal(target_->flat_parameters(), before_)) << "model changed";
    EXPECT_EQ(target_->version(), 3);
  }

  std::string dir_;
  std::shared_ptr<Policy> source_, target_;
  torch::Tensor before_;
};

TEST_F(SafetensorsTest, RoundTripRestoresWeightsAndVersion) {
  const std::string path = Path("model.safetensors");
  source_->SaveSafetensors(path);
  EXPECT_FALSE(torch::equal(target_->flat_parameters(), source_->flat_parameters()));
  target_->LoadSafetensors(path);
  EXPECT_TRUE(torch::equal(target_->flat_parameters(), source_->flat_parameters()));
  EXPECT_EQ(target_->version(), 17);
  // No temp file is left beside it, and the header is padded to 8 bytes.
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(ReadHeaderLength(path) % 8, 0);
  const SafetensorsContents contents = ReadSafetensors(path);
  EXPECT_EQ(contents.metadata.at("colony.version"), "17");
  EXPECT_EQ(ModelConfig::FromJson(contents.metadata.at("colony.config")), Tiny());
  EXPECT_EQ(contents.tensors.size(), source_->layout().size());
}

TEST_F(SafetensorsTest, MissingTensorIsNamed) {
  NamedTensors tensors = SourceTensors();
  const std::string name = tensors[1].first;
  tensors.erase(tensors.begin() + 1);
  WriteSafetensors(Path("missing.safetensors"), tensors, {});
  ExpectRefused(Path("missing.safetensors"), {"tensor '" + name + "'", "expected [", "missing"});
}

TEST_F(SafetensorsTest, ExtraTensorIsNamed) {
  NamedTensors tensors = SourceTensors();
  tensors.emplace_back("blocks.7.surprise", torch::zeros({2}));
  WriteSafetensors(Path("extra.safetensors"), tensors, {});
  ExpectRefused(Path("extra.safetensors"), {"tensor 'blocks.7.surprise'", "extra tensor"});
}

TEST_F(SafetensorsTest, WrongShapeIsNamedWithExpectedAndGot) {
  NamedTensors tensors = SourceTensors();
  tensors[0].second = torch::zeros({5, 5});
  const std::string expected = tensors[0].first;
  WriteSafetensors(Path("shape.safetensors"), tensors, {});
  ExpectRefused(Path("shape.safetensors"),
                {"tensor '" + expected + "'", "expected shape [8, 3], got [5, 5]"});
}

TEST_F(SafetensorsTest, WrongDtypeIsNamedWithExpectedAndGot) {
  NamedTensors tensors = SourceTensors();
  tensors[2].second = tensors[2].second.to(torch::kFloat64);
  WriteSafetensors(Path("dtype.safetensors"), tensors, {});
  ExpectRefused(Path("dtype.safetensors"),
                {"tensor '" + tensors[2].first + "'", "expected dtype F32, got F64"});
}

TEST_F(SafetensorsTest, TruncatedDataIsRefused) {
  const std::string path = Path("truncated.safetensors");
  source_->SaveSafetensors(path);
  ASSERT_EQ(::truncate(path.c_str(), FileSize(path) - 10), 0);
  ExpectRefused(path, {"truncated", "tensor '", "expected tensor data up to byte"});
  ASSERT_EQ(::truncate(path.c_str(), 5), 0);
  ExpectRefused(path, {"expected at least 8 bytes", "got 5"});
}

TEST_F(SafetensorsTest, CorruptHeaderIsRefused) {
  const std::string path = Path("corrupt.safetensors");
  source_->SaveSafetensors(path);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + 3);
    f.write("\x01\x02", 2);  // not JSON any more
  }
  ExpectRefused(path, {"corrupt header", "expected JSON"});
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    const std::uint64_t huge = 1ull << 40;
    f.write(reinterpret_cast<const char*>(&huge), 8);
  }
  ExpectRefused(path, {"header length 1099511627776 exceeds"});
  {
    // Duplicate keys are valid JSON to rapidjson, but not a valid safetensors header.
    const std::string header =
        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
        R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
    const std::uint64_t n = header.size();
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(&n), 8);
    f << header << std::string(4, '\0');
  }
  ExpectRefused(path, {"corrupt header", "tensor 'a'", "expected once, got twice"});
  ExpectRefused(Path("does_not_exist.safetensors"), {"cannot open"});
}

// A file written by hand: the header JSON, then the data section (little-endian floats).
void WriteRaw(const std::string& path, const std::string& header, const std::vector<float>& data) {
  const std::uint64_t n = header.size();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << header;
  f.write(reinterpret_cast<const char*>(data.data()),
          static_cast<std::streamsize>(data.size() * sizeof(float)));
}

void ExpectReadRefused(const std::string& path, const std::vector<std::string>& fragments) {
  ExpectModelFileError([&] { ReadSafetensors(path); }, path, fragments);
}

std::string TensorEntry(const std::string& name, int floats, int begin, int end) {
  return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(floats) +
         "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

// Python's reader demands that tensors tile the data section; so does ours, naming the tensor.
TEST_F(SafetensorsTest, OffsetsThatDoNotTileTheDataAreRefused) {
  const std::string path = Path("tiling.safetensors");
  const std::vector<float> three = {1, 2, 3};
  WriteRaw(path, "{" + TensorEntry("a", 2, 0, 8) + "," + TensorEntry("b", 2, 4, 12) + "}", three);
  ExpectReadRefused(path, {"corrupt header", "tensor 'b'", "data_offsets [4, 12] overlap tensor "
                           "'a' at [0, 8]"});
  WriteRaw(path, "{" + TensorEntry("a", 2, 0, 8) + "," + TensorEntry("b", 2, 0, 8) + "}", {1, 2});
  ExpectReadRefused(path, {"tensor 'b'", "overlap tensor 'a' at [0, 8]"});
  WriteRaw(path, "{" + TensorEntry("a", 1, 0, 4) + "," + TensorEntry("b", 1, 8, 12) + "}", three);
  ExpectReadRefused(path, {"tensor 'b'", "expected data_offsets to begin at byte 4",
                           "got [8, 12] (a gap of 4 bytes)"});
  WriteRaw(path, "{" + TensorEntry("a", 2, 0, 8) + "}", three);
  ExpectReadRefused(path, {"corrupt file", "expected tensor data to end at byte 8",
                           "got 4 trailing bytes"});
}

TEST_F(SafetensorsTest, TensorsListedOutOfOffsetOrderStillTile) {
  const std::string path = Path("order.safetensors");
  // Header order b, empty, a; offset order a, empty, b: a valid file.
  WriteRaw(path, "{" + TensorEntry("b", 1, 8, 12) + "," + TensorEntry("empty", 0, 8, 8) + "," +
                     TensorEntry("a", 2, 0, 8) + "}",
           {1, 2, 3});
  const SafetensorsContents contents = ReadSafetensors(path);
  ASSERT_EQ(contents.tensors.size(), 3u);
  EXPECT_EQ(contents.tensors[0].first, "b");
  EXPECT_TRUE(torch::equal(contents.tensors[0].second, torch::tensor({3.0f})));
  EXPECT_EQ(contents.tensors[1].second.numel(), 0);
  EXPECT_TRUE(torch::equal(contents.tensors[2].second, torch::tensor({1.0f, 2.0f})));
}

TEST_F(SafetensorsTest, ConfigThatChangesNoShapeIsStillChecked) {
  NamedTensors tensors = SourceTensors();
  ModelConfig other = Tiny();
  other.heads = 4;  // same shapes, different computation
  WriteSafetensors(Path("heads.safetensors"), tensors, {{"colony.config", other.ToJson()}});
  ExpectRefused(Path("heads.safetensors"), {"expected kind gtrxl with 2 heads", "got kind gtrxl with 4"});
  other = Tiny();
  other.actions = "box";  // a Gaussian over 1 dimension: 2 outputs, as Discrete(2)
  WriteSafetensors(Path("actions.safetensors"), tensors, {{"colony.config", other.ToJson()}});
  ExpectRefused(Path("actions.safetensors"), {"expected actions discrete (this model), got box"});
  WriteSafetensors(Path("version.safetensors"), tensors, {{"colony.version", "12abc"}});
  ExpectRefused(Path("version.safetensors"), {"colony.version", "expected an integer, got '12abc'"});
}

}  // namespace
}  // namespace colony
