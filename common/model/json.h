// Where rapidjson comes from: cereal's bundled copy when it ships one (upstream cereal), else the
// system rapidjson that Debian's libcereal-dev uses instead. Both are the same library; only the
// include path and the namespace macro differ, so the model code names `colony::json`.
#pragma once

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
