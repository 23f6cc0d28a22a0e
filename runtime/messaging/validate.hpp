#pragma once
// Checks for values that outbound builders put into paths, headers and bodies: an
// identifier from a chat or config must not be able to add a path segment or a header.
#include <string_view>

namespace sb::messaging {

bool all_digits(std::string_view s);  // non-empty, 0-9 only
// Non-empty, at most max_len, and only A-Z a-z 0-9 and the given extra characters.
bool token_chars(std::string_view s, std::string_view extra, std::size_t max_len);
// Printable ASCII (0x21-0x7E), non-empty: safe inside an HTTP header value.
bool header_safe(std::string_view s);
// Discord/Twitter-style snowflake: 1-20 digits that fit in 64 bits.
bool snowflake(std::string_view s);
// An integer chat id as Telegram has them: an optional '-', then 1-20 digits.
bool signed_digits(std::string_view s);
// 1-256 printable ASCII characters, no space, '"' or '\\': an id that may go into a
// JSON string or a path unescaped.
bool plain_id(std::string_view s);

}  // namespace sb::messaging
