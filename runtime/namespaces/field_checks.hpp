#pragma once
// The field checks the namespace model's parsers share (namespace.cpp, agent_settings.cpp):
// errors "invalid_field" whose message starts with the field's name, and the control-byte
// test for names and texts. Internal to runtime/namespaces.
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"

namespace sb::namespaces::detail {

inline Error field_error(std::string_view field, std::string_view message) {
  return make_error("invalid_field", std::string(field) + ": " + std::string(message));
}

inline bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace sb::namespaces::detail
