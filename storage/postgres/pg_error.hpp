#pragma once
// Stable error codes of the PostgreSQL engine and the SQLSTATE -> code mapping. Callers
// branch on Error::code, never on the message: PostgreSQL's messages are translated
// (lc_messages) and change between versions; SQLSTATEs do not. Pure, no libpq.
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "storage/error_codes.hpp"

namespace sb::storage::pg {

// The server cannot be reached or the session was lost (connection refused, timeout,
// server shut down or crashed, SQLSTATE class 08, 57P01-57P03). reconnect() may help.
inline constexpr std::string_view kUnreachable = "postgres.unreachable";
// Authentication failed or a password is needed and none was given (28P01, 28000).
inline constexpr std::string_view kAuth = "postgres.auth";
// The transaction lost a serialization race or a deadlock (40001, 40P01): run it again.
inline constexpr std::string_view kRetry = "postgres.retry";
static_assert(is_unavailable(kUnreachable) && is_unavailable(kRetry), "storage/error_codes.hpp must know them");
// The database named in the connection string does not exist (3D000).
inline constexpr std::string_view kNoDatabase = "postgres.no_database";
// Anything else; the message carries the SQLSTATE.
inline constexpr std::string_view kError = "postgres.error";
// A connection string libpq cannot parse, or an option out of range.
inline constexpr std::string_view kInvalidOption = "postgres.invalid_option";
// The password file is missing, unreadable, empty, or readable by group or others.
inline constexpr std::string_view kPasswordFile = "postgres.password_file";
// A bind index outside 1..parameter_count() (SQLite's wrapper: "sqlite.range").
inline constexpr std::string_view kRange = "postgres.range";
// Shared with the SQLite wrapper: the same misuse has the same code on both engines.
inline constexpr std::string_view kMultipleStatements = "storage.multiple_statements";
inline constexpr std::string_view kNoTransaction = "storage.no_transaction";
inline constexpr std::string_view kBadParam = "storage.bad_param";

// The code for a server-reported SQLSTATE (five characters). The message gets
// " (SQLSTATE xxxxx)" appended so that logs keep the exact condition.
Error error_for_sqlstate(std::string_view sqlstate, std::string message);

// libpq keeps no result object for an error during the start-up handshake (wrong
// password, unknown database); with PQERRORS_VERBOSE it writes the server's SQLSTATE in
// front of the text: `connection to server at "h", port p failed: FATAL:  28P01: ...`.
// Returns that five-character code of the last attempt (libpq may try several hosts), or
// "" if the failure never reached a server (refused, timeout, DNS): then no server spoke.
std::string startup_sqlstate(std::string_view libpq_message);

}  // namespace sb::storage::pg
