#include "runtime/agent/tools/tool_args.hpp"

#include <charconv>

#include "runtime/agent/json_text.hpp"

namespace sb::agent {
namespace {

Error bad(std::string message) {
  return make_error("tool.bad_arguments", std::move(message));
}

}  // namespace

Result<ToolArgs> ToolArgs::parse(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return bad("the arguments must be a JSON object");
  ToolArgs a;
  for (const auto& m : doc.GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    Value v;
    if (m.value.IsString())
      v = std::string(m.value.GetString(), m.value.GetStringLength());
    else if (m.value.IsInt64())
      v = m.value.GetInt64();
    else if (m.value.IsNumber())
      v = m.value.GetDouble();
    else if (m.value.IsBool())
      v = m.value.GetBool();
    a.present_[key] = !m.value.IsNull();
    a.values_[key] = std::move(v);
  }
  return a;
}

Result<std::optional<std::string>> ToolArgs::opt_str(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end() || !present_.at(key)) return std::optional<std::string>();
  if (const auto* s = std::get_if<std::string>(&it->second)) return std::optional<std::string>(*s);
  return bad("argument '" + key + "' must be a string");
}

Result<std::string> ToolArgs::str(const std::string& key) const {
  auto v = opt_str(key);
  if (!v) return v.error();
  if (!*v) return bad("argument '" + key + "' is required");
  return std::move(**v);
}

Result<std::optional<int64_t>> ToolArgs::opt_int(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end() || !present_.at(key)) return std::optional<int64_t>();
  if (const auto* n = std::get_if<int64_t>(&it->second)) return std::optional<int64_t>(*n);
  // 5.0 is 5; the range check keeps the cast defined.
  if (const auto* d = std::get_if<double>(&it->second);
      d && *d > -9e18 && *d < 9e18 && *d == static_cast<double>(static_cast<int64_t>(*d)))
    return std::optional<int64_t>(static_cast<int64_t>(*d));
  if (const auto* s = std::get_if<std::string>(&it->second)) {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
    if (ec == std::errc() && p == s->data() + s->size()) return std::optional<int64_t>(n);
  }
  return bad("argument '" + key + "' must be an integer");
}

}  // namespace sb::agent
