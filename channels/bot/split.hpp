#pragma once
// Splitting a long reply into messages that each fit a platform's length limit.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sb::channels {

// How a platform counts "characters" (docs/channels.md says which platform uses which).
enum class LengthUnit { code_points, utf16_units };

struct SplitRule {
  std::size_t max_units = 4096;  // treated as at least 1
  LengthUnit unit = LengthUnit::utf16_units;
};

// Length of (sanitised) text in the given unit.
std::size_t measure(std::string_view text, LengthUnit unit);

// Invalid UTF-8 becomes U+FFFD first, so every piece is valid UTF-8. Text that fits is
// returned as one piece, unchanged. Otherwise each piece is the longest prefix that fits,
// cut at the last line break in it, else at the last space or tab, else hard; a hard
// cut never falls inside a UTF-8 sequence and, best effort, not before a combining mark,
// variation selector, skin-tone modifier or after a zero-width joiner, nor inside a flag.
// The line break or space at a cut is dropped, as are trailing whitespace of a cut piece
// and leading line breaks of the next; pieces that would be only whitespace are dropped
// (platforms refuse empty messages). Empty or all-whitespace text gives no pieces.
std::vector<std::string> split_message(std::string_view text, SplitRule rule);

}  // namespace sb::channels
