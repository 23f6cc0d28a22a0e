#include "runtime/core/ids.hpp"

#include <sodium.h>

#include <stdexcept>
#include <vector>

namespace sb {
namespace {

void random_bytes(unsigned char* out, std::size_t n) {
  static const bool ready = sodium_init() >= 0;  // once, thread-safe; 1 = already done
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
  randombytes_buf(out, n);
}

}  // namespace

std::string random_hex(std::size_t bytes) {
  if (bytes == 0) return {};  // libsodium must not see the null data() of an empty vector
  std::vector<unsigned char> raw(bytes);
  random_bytes(raw.data(), raw.size());
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  sodium_memzero(raw.data(), raw.size());
  hex.pop_back();  // the terminating NUL
  return hex;
}

std::string uuid_v4() {
  unsigned char b[16];
  random_bytes(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

}  // namespace sb
