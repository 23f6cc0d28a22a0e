#pragma once
// Building SQL text that SQLite and PostgreSQL both run (docs/storage.md, "SQL shared by
// both engines"). Placeholders are always numbered: ?N is SQLite's own syntax and the
// PostgreSQL engine rewrites it to $N, while a bare ? is not portable.
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>

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

// The first word of `sql` after blanks and `--` / `/* */` comments, upper-cased ("" when
// there is none): what a statement does (SELECT, INSERT, BEGIN, ...).
inline std::string leading_keyword(std::string_view sql) {
  std::size_t i = 0;
  for (;;) {
    while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
    if (sql.substr(i, 2) == "--") {
      i = sql.find('\n', i);
      if (i == std::string_view::npos) return {};
    } else if (sql.substr(i, 2) == "/*") {
      i = sql.find("*/", i);
      if (i == std::string_view::npos) return {};
      i += 2;
    } else {
      break;
    }
  }
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++]))));
  }
  return word;
}

}  // namespace sb::storage
