#include "runtime/core/utf8.hpp"

namespace sb::utf8 {

Decoded decode(std::string_view s, std::size_t pos) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(pos);
  if (b0 < 0x80) return {b0, 1, true};
  std::size_t len;
  char32_t cp, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return {0xFFFD, 1, false};
  }
  if (pos + len > s.size()) return {0xFFFD, 1, false};
  for (std::size_t i = 1; i < len; ++i) {
    unsigned char b = byte(pos + i);
    if ((b & 0xC0) != 0x80) return {0xFFFD, 1, false};
    cp = cp << 6 | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0xFFFD, 1, false};
  return {cp, static_cast<std::uint8_t>(len), true};
}

bool is_valid(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {  // ASCII fast path: most payloads
      ++i;
      continue;
    }
    Decoded d = decode(s, i);
    if (!d.valid) return false;
    i += d.length;
  }
  return true;
}

std::string sanitize(std::string_view s) {
  if (is_valid(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    Decoded d = decode(s, i);
    if (d.valid)
      out.append(s.substr(i, d.length));
    else
      out += "\xEF\xBF\xBD";
    i += d.length;
  }
  return out;
}

std::size_t utf16_length(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    Decoded d = decode(s, i);
    n += utf16_units(d.code_point);
    i += d.length;
  }
  return n;
}

std::size_t code_point_count(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++n) i += decode(s, i).length;
  return n;
}

std::optional<std::size_t> byte_offset_of_utf16(std::string_view s, std::size_t units) {
  std::size_t seen = 0, i = 0;
  while (seen < units) {
    if (i >= s.size()) return std::nullopt;
    Decoded d = decode(s, i);
    seen += utf16_units(d.code_point);
    i += d.length;
  }
  if (seen != units) return std::nullopt;  // landed inside a surrogate pair
  return i;
}

std::string truncate(const std::string& s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

}  // namespace sb::utf8
