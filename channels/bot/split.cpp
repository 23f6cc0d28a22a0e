#include "channels/bot/split.hpp"

#include <algorithm>

#include "runtime/core/utf8.hpp"

namespace sb::channels {
namespace {

// How far a hard cut may move back to keep a cluster together; longer clusters
// (stacked "zalgo" marks) are cut anyway.
constexpr int kMaxClusterBackoff = 32;

bool in(char32_t cp, char32_t lo, char32_t hi) {
  return cp >= lo && cp <= hi;
}

// Code points that attach to the one before them: a cut must not precede them.
bool attaches_to_previous(char32_t cp) {
  return in(cp, 0x0300, 0x036F) || in(cp, 0x0483, 0x0489) || in(cp, 0x0591, 0x05BD) || in(cp, 0x064B, 0x065F) ||
         cp == 0x0670 || in(cp, 0x0900, 0x0903) || in(cp, 0x093A, 0x094F) || cp == 0x0E31 || in(cp, 0x0E34, 0x0E3A) ||
         in(cp, 0x0E47, 0x0E4E) || in(cp, 0x1160, 0x11FF) || in(cp, 0x1AB0, 0x1AFF) || in(cp, 0x1DC0, 0x1DFF) ||
         cp == 0x200C || cp == 0x200D || in(cp, 0x20D0, 0x20FF) || in(cp, 0xFE00, 0xFE0F) || in(cp, 0xFE20, 0xFE2F) ||
         in(cp, 0x1F3FB, 0x1F3FF) || in(cp, 0xE0020, 0xE007F) || in(cp, 0xE0100, 0xE01EF);
}

bool regional_indicator(char32_t cp) {
  return in(cp, 0x1F1E6, 0x1F1FF);
}

bool space(char32_t cp) {
  return cp == ' ' || cp == '\t';
}
bool whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t units(char32_t cp, LengthUnit unit) {
  return unit == LengthUnit::utf16_units ? utf8::utf16_units(cp) : 1;
}

// Start of the code point before `pos` (text is valid UTF-8, pos > 0).
std::size_t previous(std::string_view text, std::size_t pos) {
  do --pos;
  while (pos > 0 && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80);
  return pos;
}

// Whether cutting between the code points before and at `cut` breaks a cluster.
bool breaks_cluster(std::string_view text, std::size_t start, std::size_t cut) {
  char32_t next = utf8::decode(text, cut).code_point;
  std::size_t p = previous(text, cut);
  char32_t prev = utf8::decode(text, p).code_point;
  if (attaches_to_previous(next) || prev == 0x200D) return true;
  if (regional_indicator(prev) && regional_indicator(next)) {
    // Flags are pairs counted from the start of the run: an odd run before the cut
    // means the cut separates a pair.
    std::size_t run = 1;
    while (p > start) {
      p = previous(text, p);
      if (!regional_indicator(utf8::decode(text, p).code_point)) break;
      ++run;
    }
    return run % 2 == 1;
  }
  return false;
}

std::size_t hard_cut(std::string_view text, std::size_t start, std::size_t limit_end) {
  std::size_t cut = limit_end;
  for (int i = 0; i < kMaxClusterBackoff && cut > start; ++i) {
    if (!breaks_cluster(text, start, cut)) return cut;
    cut = previous(text, cut);
  }
  return limit_end;
}

bool only_whitespace(std::string_view s) {
  return std::all_of(s.begin(), s.end(), whitespace);
}

}  // namespace

std::size_t measure(std::string_view text, LengthUnit unit) {
  return unit == LengthUnit::utf16_units ? utf8::utf16_length(text) : utf8::code_point_count(text);
}

std::vector<std::string> split_message(std::string_view input, SplitRule rule) {
  const std::size_t max = std::max<std::size_t>(rule.max_units, 1);
  const std::string text = utf8::sanitize(input);
  std::vector<std::string> pieces;
  if (only_whitespace(text)) return pieces;
  if (measure(text, rule.unit) <= max) {
    pieces.push_back(text);
    return pieces;
  }
  auto emit = [&](std::string_view piece, bool last) {
    if (!last)
      while (!piece.empty() && whitespace(piece.back())) piece.remove_suffix(1);
    if (!only_whitespace(piece)) pieces.emplace_back(piece);
  };

  std::size_t start = 0;
  const std::size_t n = text.size();
  while (start < n) {
    if (!pieces.empty() || start > 0)
      while (start < n && (text[start] == '\n' || text[start] == '\r')) ++start;
    if (start >= n) break;
    // Longest prefix that fits; remember the last line break and space inside it.
    std::size_t pos = start, used = 0;
    std::size_t last_newline = std::string_view::npos, last_space = std::string_view::npos;
    while (pos < n) {
      utf8::Decoded d = utf8::decode(text, pos);
      std::size_t u = units(d.code_point, rule.unit);
      if (used + u > max) break;
      if (d.code_point == '\n' && pos > start)
        last_newline = pos;
      else if (space(d.code_point) && pos > start)
        last_space = pos;
      used += u;
      pos += d.length;
    }
    if (pos >= n) {
      emit(std::string_view(text).substr(start), true);
      break;
    }
    if (pos == start) {  // one code point is wider than max (max 1, astral in UTF-16)
      pos += utf8::decode(text, pos).length;
      emit(std::string_view(text).substr(start, pos - start), pos >= n);
      start = pos;
      continue;
    }

    // The first code point that did not fit may itself be the best place to cut.
    char32_t blocked = utf8::decode(text, pos).code_point;
    std::size_t cut, next;
    if (blocked == '\n' || blocked == '\r') {
      cut = pos, next = pos + 1;
    } else if (last_newline != std::string_view::npos) {
      cut = last_newline, next = last_newline + 1;
    } else if (space(blocked)) {
      cut = pos, next = pos + 1;
    } else if (last_space != std::string_view::npos) {
      cut = last_space, next = last_space + 1;
    } else {
      cut = next = hard_cut(text, start, pos);
    }
    emit(std::string_view(text).substr(start, cut - start), false);
    start = next;
  }
  return pieces;
}

}  // namespace sb::channels
