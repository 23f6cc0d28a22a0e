#include "runtime/routing/trigger.hpp"

#include "runtime/core/utf8.hpp"

namespace sb::routing {
namespace {

char fold(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool ascii_word(char32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == '_';
}

// The code point that ends just before byte `end` (a UTF-8 boundary), or U+FFFD.
char32_t code_point_before(std::string_view s, std::size_t end) {
  std::size_t start = end - 1;
  // At most three continuation bytes precede a lead byte.
  for (int i = 0; i < 3 && start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80; ++i) --start;
  auto d = utf8::decode(s, start);
  if (!d.valid || start + d.length != end) return 0xFFFD;
  return d.code_point;
}

char32_t code_point_at(std::string_view s, std::size_t pos) {
  auto d = utf8::decode(s, pos);
  return d.valid ? d.code_point : 0xFFFD;
}

}  // namespace

std::string fold_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = fold(c);
  return out;
}

bool is_word_code_point(char32_t cp) {
  if (cp < 0x80) return ascii_word(cp);
  struct Range {
    char32_t first, last;
  };
  // Spaces, punctuation and symbols: C1 controls + Latin-1 punctuation (NBSP, «», ¿),
  // General Punctuation through Miscellaneous Symbols and Arrows (…, “”, ZWSP, arrows,
  // math, dingbats), CJK punctuation, variation selectors, vertical/small/fullwidth forms'
  // punctuation, the replacement character, emoji and pictographs, tag characters.
  static constexpr Range kNonWord[] = {
      {0x0080, 0x00BF}, {0x00D7, 0x00D7}, {0x00F7, 0x00F7},   {0x2000, 0x2BFF},   {0x3000, 0x303F},
      {0xFE00, 0xFE1F}, {0xFE30, 0xFE6F}, {0xFF00, 0xFF0F},   {0xFF1A, 0xFF20},   {0xFF3B, 0xFF40},
      {0xFF5B, 0xFF65}, {0xFFF0, 0xFFFF}, {0x1F000, 0x1FAFF}, {0xE0000, 0xE007F},
  };
  for (const auto& r : kNonWord)
    if (cp >= r.first && cp <= r.last) return false;
  return true;
}

bool contains_trigger(std::string_view text, std::string_view folded_trigger) {
  const std::size_t m = folded_trigger.size();
  if (m == 0 || text.size() < m) return false;
  const char first = folded_trigger.front();
  for (std::size_t i = 0; i + m <= text.size(); ++i) {
    if (fold(text[i]) != first) continue;
    std::size_t k = 1;
    while (k < m && fold(text[i + k]) == folded_trigger[k]) ++k;
    if (k != m) continue;
    // A match that starts or ends inside a multi-byte sequence is no token.
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (i + m < text.size() && (static_cast<unsigned char>(text[i + m]) & 0xC0) == 0x80) continue;
    if (i > 0 && is_word_code_point(code_point_before(text, i))) continue;
    if (i + m < text.size() && is_word_code_point(code_point_at(text, i + m))) continue;
    return true;
  }
  return false;
}

}  // namespace sb::routing
