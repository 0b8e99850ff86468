// JSON for every file and endpoint Colony writes or reads: RUN_DIR/config.json and --config
// files, metrics.jsonl records and the HTTP /status body, checkpoint metadata (ModelConfig in a
// safetensors header), `colony env replay`'s output. One library (rapidjson) behind one header;
// Cereal stays for the wire format's binary header only.
//
// Writing: JsonObjectWriter builds one object member by member, in the order added, compact
// ({"a":1,"b":"x"}) or pretty-printed (4-space indent, one member per line, as config.json).
// Numbers are written in their shortest round-trip form (JsonNumber): reading the text back gives
// the same double bit for bit; NaN and infinities, which JSON lacks, are written as null.
// Reading: ParseJsonObject gives a rapidjson document or throws JsonError saying what was found.
//
// Where rapidjson comes from: cereal's bundled copy when it ships one (upstream cereal), else the
// system rapidjson that Debian's libcereal-dev uses instead. Both are the same library; only the
// include path and the namespace macro differ, so code names `colony::json`.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#if __has_include(<cereal/external/rapidjson/document.h>)
#include <cereal/external/rapidjson/document.h>
#include <cereal/external/rapidjson/error/en.h>
#include <cereal/external/rapidjson/stringbuffer.h>
#include <cereal/external/rapidjson/writer.h>
namespace colony {
namespace json = CEREAL_RAPIDJSON_NAMESPACE;
}  // namespace colony
#else
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
namespace colony {
namespace json = RAPIDJSON_NAMESPACE;
}  // namespace colony
#endif

namespace colony {

// Malformed JSON, or JSON of the wrong shape; the message says what was expected and found.
class JsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Shortest text that reads back to the same value ("0.25", "3", "1e-08"); "null" if not finite.
std::string JsonNumber(double value);
std::string JsonNumber(float value);  // shortest for float32, as `colony env replay` prints

class JsonObjectWriter {
 public:
  enum class Style { kCompact, kPretty };
  explicit JsonObjectWriter(Style style = Style::kCompact);
  ~JsonObjectWriter();
  JsonObjectWriter(const JsonObjectWriter&) = delete;
  JsonObjectWriter& operator=(const JsonObjectWriter&) = delete;

  JsonObjectWriter& Add(std::string_view key, std::string_view value);
  JsonObjectWriter& Add(std::string_view key, const char* value);  // not bool's overload
  JsonObjectWriter& Add(std::string_view key, const std::string& value);
  JsonObjectWriter& Add(std::string_view key, std::int64_t value);
  JsonObjectWriter& Add(std::string_view key, double value);  // JsonNumber
  JsonObjectWriter& Add(std::string_view key, bool value);
  JsonObjectWriter& Add(std::string_view key, std::span<const float> values);  // an array
  // A value that is JSON text already (a number formatted by JsonNumber, a nested object).
  JsonObjectWriter& AddRaw(std::string_view key, std::string_view json_text);

  // Closes the object and returns its text (no trailing newline). Call once.
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses `text` as one JSON object. Throws JsonError, e.g. "expected a JSON object, got a parse
// error (Invalid value.) at byte 0" or "expected a JSON object, got an array".
json::Document ParseJsonObject(std::string_view text);

// What a value is, for errors: "a string", "an integer", "a number", "a boolean", "null",
// "an array", "an object".
std::string JsonTypeName(const json::Value& value);

}  // namespace colony
