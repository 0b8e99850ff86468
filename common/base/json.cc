// JSON writing and parsing helpers over rapidjson; see json.h.
#include "common/base/json.h"

#include <charconv>
#include <cmath>

#if __has_include(<cereal/external/rapidjson/prettywriter.h>)
#include <cereal/external/rapidjson/prettywriter.h>
#else
#include <rapidjson/prettywriter.h>
#endif

namespace colony {
namespace {

template <typename T>
std::string ShortestNumber(T value) {
  if (!std::isfinite(value)) return "null";
  char text[64];
  const auto result = std::to_chars(text, text + sizeof(text), value);
  return std::string(text, result.ptr);
}

json::SizeType Length(std::string_view text) { return static_cast<json::SizeType>(text.size()); }

}  // namespace

std::string JsonNumber(double value) { return ShortestNumber(value); }
std::string JsonNumber(float value) { return ShortestNumber(value); }

// Both writers share the buffer; only the one `pretty` names is ever used.
struct JsonObjectWriter::Impl {
  json::StringBuffer buffer;
  json::Writer<json::StringBuffer> compact{buffer};
  json::PrettyWriter<json::StringBuffer> indented{buffer};
  bool pretty = false;

  template <typename Write>
  void With(Write&& write) {
    if (pretty) {
      write(indented);
    } else {
      write(compact);
    }
  }
};

JsonObjectWriter::JsonObjectWriter(Style style) : impl_(std::make_unique<Impl>()) {
  impl_->pretty = style == Style::kPretty;
  impl_->With([](auto& w) { w.StartObject(); });
}

JsonObjectWriter::~JsonObjectWriter() = default;

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, std::string_view value) {
  impl_->With([&](auto& w) {
    w.Key(key.data(), Length(key));
    w.String(value.data(), Length(value));
  });
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, const char* value) {
  return Add(key, std::string_view(value));
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, const std::string& value) {
  return Add(key, std::string_view(value));
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, std::int64_t value) {
  impl_->With([&](auto& w) {
    w.Key(key.data(), Length(key));
    w.Int64(value);
  });
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, double value) {
  return AddRaw(key, JsonNumber(value));
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, bool value) {
  impl_->With([&](auto& w) {
    w.Key(key.data(), Length(key));
    w.Bool(value);
  });
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, std::span<const float> values) {
  impl_->With([&](auto& w) {
    w.Key(key.data(), Length(key));
    w.StartArray();
    for (const float value : values) {
      const std::string text = JsonNumber(value);
      w.RawValue(text.data(), text.size(), text == "null" ? json::kNullType : json::kNumberType);
    }
    w.EndArray();
  });
  return *this;
}

JsonObjectWriter& JsonObjectWriter::AddRaw(std::string_view key, std::string_view json_text) {
  impl_->With([&](auto& w) {
    w.Key(key.data(), Length(key));
    // The type only steers the pretty writer's layout; a number and null lay out alike.
    w.RawValue(json_text.data(), json_text.size(), json::kNumberType);
  });
  return *this;
}

std::string JsonObjectWriter::Finish() {
  impl_->With([](auto& w) { w.EndObject(); });
  return std::string(impl_->buffer.GetString(), impl_->buffer.GetSize());
}

json::Document ParseJsonObject(std::string_view text) {
  json::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    throw JsonError(std::string("expected a JSON object, got a parse error (") +
                    json::GetParseError_En(doc.GetParseError()) + ") at byte " +
                    std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) throw JsonError("expected a JSON object, got " + JsonTypeName(doc));
  return doc;
}

std::string JsonTypeName(const json::Value& value) {
  if (value.IsString()) return "a string";
  if (value.IsInt64() || value.IsUint64()) return "an integer";
  if (value.IsNumber()) return "a number";
  if (value.IsBool()) return "a boolean";
  if (value.IsNull()) return "null";
  if (value.IsArray()) return "an array";
  return "an object";
}

}  // namespace colony
