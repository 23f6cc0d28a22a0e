#pragma once
// Strict hex: even length, [0-9a-fA-F] only. Signature headers come from the network,
// so anything else is refused rather than half-parsed.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sb {

// Decodes into exactly out.size() bytes; false (out unspecified) unless
// hex.size() == 2 * out.size() and every character is a hex digit.
bool hex_decode_exact(std::string_view hex, std::span<unsigned char> out);
std::optional<std::vector<unsigned char>> hex_decode(std::string_view hex);
// Lowercase.
std::string hex_encode(std::span<const unsigned char> bytes);

}  // namespace sb
