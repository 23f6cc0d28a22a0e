#pragma once
// RapidJSON reading with the channel layer's error rules, for the platform parsers.
// Errors (all answered 400 by a webhook): channel.malformed_json, channel.missing_field,
// channel.wrong_type, channel.bad_value. The first error wins; later reads return
// empty values, so a parser reads everything it needs and checks once.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "runtime/core/result.hpp"

namespace sb::json {

using Value = rapidjson::Value;

// Iterative parse (deep nesting cannot exhaust the stack), UTF-8 validated, whole
// input must be one JSON value, no raw NUL bytes.
Status parse(rapidjson::Document& doc, std::string_view text);

// Collects the first error of a parse.
struct Errors {
  std::optional<Error> first;
  void fail(std::string code, std::string message) {
    if (!first) first = make_error(std::move(code), std::move(message));
  }
  bool failed() const { return first.has_value(); }
};

// A JSON object being read, with its dotted path for error messages ("event.channel").
// A JSON null counts as absent. A wrapper around a missing or non-object value (after an
// error was recorded) yields empty results.
class Object {
 public:
  Object(const Value* value, std::string path, Errors& errors);
  // Checks that `value` is an object; records wrong_type otherwise.
  static Object from(const Value& value, std::string path, Errors& errors);

  bool valid() const { return v_ != nullptr; }
  bool has(const char* key) const;
  const std::string& path() const { return path_; }

  std::string_view str(const char* key);  // required string
  std::optional<std::string_view> opt_str(const char* key);
  std::int64_t i64(const char* key);  // required integer that fits in int64
  std::optional<std::int64_t> opt_i64(const char* key);
  bool opt_bool(const char* key, bool fallback);
  Object obj(const char* key);  // required object
  std::optional<Object> opt_obj(const char* key);
  const Value* opt_array(const char* key);  // nullptr when absent or on error
  const Value* array(const char* key);      // required array
  const Value* raw(const char* key) const;  // any type; nullptr when absent

 private:
  std::string field(const char* key) const;
  const Value* member(const char* key) const;
  const Value* v_;
  std::string path_;
  Errors* errors_;
};

std::string_view view(const Value& string_value);

}  // namespace sb::json
