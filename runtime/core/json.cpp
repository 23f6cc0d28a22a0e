#include "runtime/core/json.hpp"

#include <rapidjson/error/en.h>

#include "runtime/core/utf8.hpp"

namespace sb::json {

Status parse(rapidjson::Document& doc, std::string_view text) {
  // RapidJSON treats a NUL byte as the end of input, so "{}\0junk" would pass; valid
  // JSON never contains a raw NUL (inside strings it must be escaped as \u0000).
  if (text.find('\0') != std::string_view::npos)
    return make_error("channel.malformed_json", "malformed JSON: raw NUL byte");
  // Checking the bytes first is about twice as fast as RapidJSON's per-character
  // kParseValidateEncodingFlag. Escapes can still decode to lone surrogates: parsers
  // sanitise what they emit (sanitize_strings).
  if (!utf8::is_valid(text)) return make_error("channel.malformed_json", "malformed JSON: invalid UTF-8");
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError())
    return make_error("channel.malformed_json", std::string("malformed JSON at offset ") +
                                                    std::to_string(doc.GetErrorOffset()) + ": " +
                                                    rapidjson::GetParseError_En(doc.GetParseError()));
  return {};
}

std::string_view view(const Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

Object::Object(const Value* value, std::string path, Errors& errors)
    : v_(value), path_(std::move(path)), errors_(&errors) {}

Object Object::from(const Value& value, std::string path, Errors& errors) {
  if (!value.IsObject()) {
    errors.fail("channel.wrong_type", "'" + (path.empty() ? std::string("body") : path) + "' must be an object");
    return Object(nullptr, std::move(path), errors);
  }
  return Object(&value, std::move(path), errors);
}

std::string Object::field(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

const Value* Object::member(const char* key) const {
  if (!v_) return nullptr;
  auto it = v_->FindMember(key);
  if (it == v_->MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

bool Object::has(const char* key) const {
  return member(key) != nullptr;
}
const Value* Object::raw(const char* key) const {
  return member(key);
}

std::optional<std::string_view> Object::opt_str(const char* key) {
  const Value* m = member(key);
  if (!m) return std::nullopt;
  if (!m->IsString()) {
    errors_->fail("channel.wrong_type", "field '" + field(key) + "' must be a string");
    return std::nullopt;
  }
  return view(*m);
}

std::string_view Object::str(const char* key) {
  auto s = opt_str(key);
  if (!s) {
    if (v_ && !member(key)) errors_->fail("channel.missing_field", "field '" + field(key) + "' is required");
    return {};
  }
  return *s;
}

std::optional<std::int64_t> Object::opt_i64(const char* key) {
  const Value* m = member(key);
  if (!m) return std::nullopt;
  if (!m->IsInt64()) {
    errors_->fail("channel.wrong_type", "field '" + field(key) + "' must be an integer within 64 bits");
    return std::nullopt;
  }
  return m->GetInt64();
}

std::int64_t Object::i64(const char* key) {
  auto n = opt_i64(key);
  if (!n) {
    if (v_ && !member(key)) errors_->fail("channel.missing_field", "field '" + field(key) + "' is required");
    return 0;
  }
  return *n;
}

bool Object::opt_bool(const char* key, bool fallback) {
  const Value* m = member(key);
  if (!m) return fallback;
  if (!m->IsBool()) {
    errors_->fail("channel.wrong_type", "field '" + field(key) + "' must be a boolean");
    return fallback;
  }
  return m->GetBool();
}

std::optional<Object> Object::opt_obj(const char* key) {
  const Value* m = member(key);
  if (!m) return std::nullopt;
  if (!m->IsObject()) {
    errors_->fail("channel.wrong_type", "field '" + field(key) + "' must be an object");
    return std::nullopt;
  }
  return Object(m, field(key), *errors_);
}

Object Object::obj(const char* key) {
  auto o = opt_obj(key);
  if (!o) {
    if (v_ && !member(key)) errors_->fail("channel.missing_field", "field '" + field(key) + "' is required");
    return Object(nullptr, field(key), *errors_);
  }
  return *o;
}

const Value* Object::opt_array(const char* key) {
  const Value* m = member(key);
  if (!m) return nullptr;
  if (!m->IsArray()) {
    errors_->fail("channel.wrong_type", "field '" + field(key) + "' must be an array");
    return nullptr;
  }
  return m;
}

const Value* Object::array(const char* key) {
  const Value* a = opt_array(key);
  if (!a && v_ && !member(key)) errors_->fail("channel.missing_field", "field '" + field(key) + "' is required");
  return a;
}

}  // namespace sb::json
