#pragma once
// Just enough UTF-8 for splitting messages and mapping Telegram's UTF-16 offsets.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::utf8 {

struct Decoded {
  char32_t code_point = 0;
  std::uint8_t length = 1;  // bytes consumed; 1 for an invalid byte
  bool valid = false;
};

// Strict decoding at s[pos] (pos < s.size()): no overlongs, no surrogates, nothing above
// U+10FFFF, no truncated sequences.
Decoded decode(std::string_view s, std::size_t pos);
bool is_valid(std::string_view s);
// Every byte that does not start a valid sequence becomes U+FFFD; valid input is
// returned unchanged.
std::string sanitize(std::string_view s);

inline std::size_t utf16_units(char32_t cp) {
  return cp >= 0x10000 ? 2 : 1;
}
// Length in UTF-16 code units / code points (invalid bytes count as one each, as the
// U+FFFD they become).
std::size_t utf16_length(std::string_view s);
std::size_t code_point_count(std::string_view s);

// Byte offset of a UTF-16 offset (Telegram entity offsets); nullopt past the end or in
// the middle of a surrogate pair.
std::optional<std::size_t> byte_offset_of_utf16(std::string_view s, std::size_t units);

// At most `max_bytes` of `s`, cut on a code point boundary (never inside a sequence).
std::string truncate(const std::string& s, std::size_t max_bytes);

}  // namespace sb::utf8
