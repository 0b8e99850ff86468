// common/base/json.h: numbers round-trip bit for bit and NaN becomes null; the compact and pretty
// object layouts the run directory's files use; strings are escaped; parse errors say what was
// found.
#include "common/base/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

namespace colony {
namespace {

TEST(Json, NumbersAreShortestAndRoundTrip) {
  EXPECT_EQ(JsonNumber(3.0), "3");
  EXPECT_EQ(JsonNumber(0.25), "0.25");
  EXPECT_EQ(JsonNumber(5230.5), "5230.5");
  EXPECT_EQ(JsonNumber(1e-8), "1e-08");
  EXPECT_EQ(JsonNumber(-0.1), "-0.1");
  EXPECT_EQ(JsonNumber(std::nan("")), "null");
  EXPECT_EQ(JsonNumber(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(JsonNumber(0.1f), "0.1");  // float32's shortest form, not 0.10000000149011612
  for (const double value : {0.1, 1.0 / 3.0, 6.02214076e23, 5e-324, 12345678901.5, -2.5e-7}) {
    EXPECT_EQ(std::strtod(JsonNumber(value).c_str(), nullptr), value) << JsonNumber(value);
  }
}

TEST(Json, CompactObject) {
  const std::vector<float> obs = {0.5f, -1.0f, std::nanf("")};
  const std::string text = JsonObjectWriter()
                               .Add("name", "a \"quoted\"\n\\ name")
                               .Add("steps", std::int64_t{-12})
                               .Add("rate", 0.5)
                               .Add("missing", std::nan(""))
                               .Add("done", false)
                               .Add("obs", std::span<const float>(obs))
                               .AddRaw("nested", R"({"a":1})")
                               .Finish();
  EXPECT_EQ(text, R"({"name":"a \"quoted\"\n\\ name","steps":-12,"rate":0.5,"missing":null,)"
                  R"("done":false,"obs":[0.5,-1,null],"nested":{"a":1}})");
  const json::Document doc = ParseJsonObject(text);
  EXPECT_EQ(std::string(doc["name"].GetString()), "a \"quoted\"\n\\ name");
  EXPECT_TRUE(doc["missing"].IsNull());
}

TEST(Json, PrettyObjectAsConfigJson) {
  JsonObjectWriter writer(JsonObjectWriter::Style::kPretty);
  writer.Add("env", "CartPole-v1").Add("unroll", std::int64_t{32}).Add("lr", 0.001);
  writer.Add("serial", true);
  EXPECT_EQ(writer.Finish(),
            "{\n    \"env\": \"CartPole-v1\",\n    \"unroll\": 32,\n    \"lr\": 0.001,\n"
            "    \"serial\": true\n}");
  EXPECT_EQ(JsonObjectWriter(JsonObjectWriter::Style::kPretty).Finish(), "{}");
}

std::string ParseError(const std::string& text) {
  try {
    ParseJsonObject(text);
  } catch (const JsonError& error) {
    return error.what();
  }
  return "";
}

TEST(Json, ParseErrorsSayWhatWasFound) {
  EXPECT_EQ(ParseError(R"({"a": [1, true, null]})"), "");
  EXPECT_EQ(ParseError("[1]"), "expected a JSON object, got an array");
  EXPECT_EQ(ParseError("\"text\""), "expected a JSON object, got a string");
  EXPECT_EQ(ParseError("{\"a\": 1,"),
            "expected a JSON object, got a parse error (Missing a name for object member.) at "
            "byte 8");
  EXPECT_EQ(ParseError(""), "expected a JSON object, got a parse error (The document is empty.) "
                            "at byte 0");
  const json::Document doc = ParseJsonObject(R"({"i": 3, "x": 0.5, "b": false, "o": {}})");
  EXPECT_EQ(JsonTypeName(doc["i"]), "an integer");
  EXPECT_EQ(JsonTypeName(doc["x"]), "a number");
  EXPECT_EQ(JsonTypeName(doc["b"]), "a boolean");
  EXPECT_EQ(JsonTypeName(doc["o"]), "an object");
}

}  // namespace
}  // namespace colony
