#pragma once
// Building SQL text that SQLite and PostgreSQL both run (docs/storage.md, "SQL shared by
// both engines"). Placeholders are always numbered: ?N is SQLite's own syntax and the
// PostgreSQL engine rewrites it to $N, while a bare ? is not portable.
#include <cstddef>
#include <string>

namespace sb::storage {

// "?first,?first+1,...,?first+n-1": n numbered placeholders separated by commas, for an
// IN list or one row of a multi-row VALUES. "" when n is 0.
inline std::string numbered_placeholders(int first, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += '?';
    out += std::to_string(first + static_cast<int>(i));
  }
  return out;
}

}  // namespace sb::storage
