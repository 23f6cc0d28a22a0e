#pragma once
// Random identifiers from libsodium's CSPRNG (run ids, tokens, row ids): one copy, so
// every id in the product is unpredictable. Not for the in-container agent (no libsodium
// there). Throws std::runtime_error only if libsodium cannot initialise (no entropy).
#include <cstddef>
#include <string>

namespace sb {

// `bytes` random bytes as 2 * bytes lowercase hex digits. The raw bytes are wiped; a
// caller that makes a secret of the result wipes or wraps the string itself.
std::string random_hex(std::size_t bytes);

// A random (version 4, RFC 4122 variant) UUID: "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx",
// lowercase.
std::string uuid_v4();

}  // namespace sb
