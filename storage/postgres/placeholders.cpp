#include "storage/postgres/placeholders.hpp"

#include <cstddef>

namespace sb::storage::pg {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// PostgreSQL's identifier characters (ident_cont): letters, digits, '_', '$' and every
// byte >= 0x80 (multi-byte UTF-8).
bool is_ident_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '$' || u >= 0x80;
}

bool is_ident_start(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || u >= 0x80;
}

// SQLite caps parameter numbers at 32766 and PostgreSQL at 65535; saturating here only
// keeps the arithmetic defined for absurd inputs (the server rejects them anyway).
constexpr int kSaturate = 1'000'000;

class Scanner {
 public:
  explicit Scanner(std::string_view in) : in_(in) { out_.sql.reserve(in.size() + 8); }

  TranslatedSql run() {
    bool statement_ended = false;  // saw a top-level ';'
    while (i_ < in_.size()) {
      const char c = in_[i_];
      const char next = i_ + 1 < in_.size() ? in_[i_ + 1] : '\0';
      const bool comment = (c == '-' && next == '-') || (c == '/' && next == '*');
      // Anything but blanks, comments and more ';' after a ';' is a second statement.
      if (statement_ended && !comment && c != ';' && !is_space(c)) out_.multiple_statements = true;
      if (c == '\'') {
        // E'...' (and e'...') turns backslash escapes on; plain '...' and U&'...' do not.
        // The E counts only as a word of its own, not as the tail of an identifier (xE'a').
        const bool escapes =
            i_ > 0 && (in_[i_ - 1] == 'E' || in_[i_ - 1] == 'e') && (i_ < 2 || !is_ident_char(in_[i_ - 2]));
        quoted('\'', escapes);
      } else if (c == '"') {
        quoted('"', false);
      } else if (c == '-' && next == '-') {
        line_comment();
      } else if (c == '/' && next == '*') {
        block_comment();
      } else if (c == '$' && dollar_quote()) {
        // copied by dollar_quote()
      } else if (c == '?') {
        parameter();
      } else if (is_ident_char(c)) {
        // A whole identifier or number at once: a '$' inside one (a$b, x$1) neither opens a
        // dollar quote nor is a parameter.
        const size_t start = i_;
        while (i_ < in_.size() && is_ident_char(in_[i_])) ++i_;
        out_.sql.append(in_.substr(start, i_ - start));
      } else {
        if (c == ';') statement_ended = true;
        out_.sql.push_back(c);
        ++i_;
      }
    }
    return std::move(out_);
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

  void copy_to(size_t end) {
    out_.sql.append(in_.substr(i_, end - i_));
    i_ = end;
  }

  // '...' or "..." with the quote doubled inside; with `backslash`, \x escapes a char too.
  void quoted(char q, bool backslash) {
    size_t j = i_ + 1;
    while (j < in_.size()) {
      if (backslash && in_[j] == '\\') {
        j += 2;
      } else if (in_[j] == q) {
        if (j + 1 < in_.size() && in_[j + 1] == q) {
          j += 2;  // doubled quote: still inside
        } else {
          ++j;
          break;
        }
      } else {
        ++j;
      }
    }
    copy_to(j < in_.size() ? j : in_.size());
  }

  void line_comment() {
    size_t j = in_.find('\n', i_);
    copy_to(j == std::string_view::npos ? in_.size() : j + 1);
  }

  // PostgreSQL block comments nest: /* a /* b */ still a comment */.
  void block_comment() {
    size_t j = i_ + 2;
    int depth = 1;
    while (j < in_.size() && depth > 0) {
      if (in_[j] == '/' && j + 1 < in_.size() && in_[j + 1] == '*') {
        ++depth;
        j += 2;
      } else if (in_[j] == '*' && j + 1 < in_.size() && in_[j + 1] == '/') {
        --depth;
        j += 2;
      } else {
        ++j;
      }
    }
    copy_to(j);
  }

  // $tag$ ... $tag$ with an empty or identifier-like tag (not starting with a digit: $1 is
  // a parameter). Returns false if this '$' does not open a dollar quote.
  bool dollar_quote() {
    size_t j = i_ + 1;
    if (j < in_.size() && in_[j] != '$') {
      if (!is_ident_start(in_[j])) return false;
      while (j < in_.size() && in_[j] != '$' && is_ident_char(in_[j])) ++j;
      if (j >= in_.size() || in_[j] != '$') return false;
    }
    if (j >= in_.size()) return false;
    const std::string_view tag = in_.substr(i_, j + 1 - i_);  // "$tag$"
    const size_t close = in_.find(tag, j + 1);
    copy_to(close == std::string_view::npos ? in_.size() : close + tag.size());
    return true;
  }

  void parameter() {
    size_t j = i_ + 1;
    int n = 0;
    while (j < in_.size() && is_digit(in_[j])) {
      n = n >= kSaturate ? kSaturate : n * 10 + (in_[j] - '0');
      ++j;
    }
    out_.sql.push_back('$');
    if (j == i_ + 1) {
      // Bare '?': SQLite numbers it one past the largest so far.
      n = out_.max_parameter + 1;
      out_.sql.append(std::to_string(n));
    } else {
      // ?N keeps its digits as written ($007 is parameter 7 to PostgreSQL too).
      out_.sql.append(in_.substr(i_ + 1, j - i_ - 1));
    }
    if (n > out_.max_parameter) out_.max_parameter = n;
    if (n < kSaturate) {
      if (out_.used.size() <= static_cast<size_t>(n)) out_.used.resize(static_cast<size_t>(n) + 1, false);
      out_.used[static_cast<size_t>(n)] = true;
    }
    i_ = j;
  }

  std::string_view in_;
  size_t i_ = 0;
  TranslatedSql out_;
};

}  // namespace

TranslatedSql translate_sql(std::string_view sqlite_sql) {
  return Scanner(sqlite_sql).run();
}

std::string translate_placeholders(std::string_view sqlite_sql) {
  return translate_sql(sqlite_sql).sql;
}

}  // namespace sb::storage::pg
