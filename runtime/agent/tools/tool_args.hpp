#pragma once
// A tool call's arguments (a JSON object), read with the tool contract's rules: a
// missing required field or a field of the wrong type is an error result for the
// model, naming the field. Numbers given as strings ("200") are accepted, as small
// models often send them.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "runtime/core/result.hpp"

namespace sb::agent {

class ToolArgs {
 public:
  // "tool.bad_arguments" unless `json` is an object.
  static Result<ToolArgs> parse(std::string_view json);

  Result<std::string> str(const std::string& key) const;  // required
  Result<std::optional<std::string>> opt_str(const std::string& key) const;
  Result<std::optional<int64_t>> opt_int(const std::string& key) const;

 private:
  using Value = std::variant<std::monostate, std::string, int64_t, double, bool>;  // monostate: null/other
  std::map<std::string, Value, std::less<>> values_;
  std::map<std::string, bool, std::less<>> present_;
};

}  // namespace sb::agent
