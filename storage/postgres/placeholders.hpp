#pragma once
// SQLite-style parameters (`?1`, `?2`, bare `?`) rewritten as PostgreSQL's `$1`, `$2`, so
// that the stores' SQL text can be prepared on either engine. Pure functions, no libpq.
//
// The scan follows PostgreSQL's lexer, because PostgreSQL is what reads the result: a `?`
// inside a string literal ('...', E'...' with backslash escapes, $tag$...$tag$), a quoted
// identifier ("..."), a line comment (-- ...) or a block comment (/* ... */, which nest in
// PostgreSQL) is text, not a parameter, and is copied unchanged. Numbering follows SQLite:
// `?N` is parameter N, a bare `?` is one more than the largest number used before it.
// Consequence: PostgreSQL's own `?`, `?|` and `?&` jsonb operators cannot be written in
// this SQL (SQLite has no such operators, so the shared SQL never contains them).
// Unterminated literals and comments are copied to the end as they are; the server then
// reports the syntax error, which is the honest place for it.
#include <string>
#include <string_view>
#include <vector>

namespace sb::storage::pg {

struct TranslatedSql {
  std::string sql;                   // the text with $N placeholders
  int max_parameter = 0;             // the largest parameter number seen (0: none)
  std::vector<bool> used;            // used[n] is true if $n occurs (index 0 unused)
  bool multiple_statements = false;  // a ';' outside literals/comments followed by more code
};

TranslatedSql translate_sql(std::string_view sqlite_sql);

// translate_sql(sql).sql
std::string translate_placeholders(std::string_view sqlite_sql);

}  // namespace sb::storage::pg
