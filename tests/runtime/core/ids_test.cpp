#include "runtime/core/ids.hpp"

#include <set>

#include <gtest/gtest.h>

namespace {

bool all_lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(RandomHex, TwoLowercaseDigitsPerByte) {
  for (std::size_t bytes : {0u, 1u, 6u, 8u, 32u}) {
    const std::string h = sb::random_hex(bytes);
    EXPECT_EQ(h.size(), bytes * 2);
    EXPECT_TRUE(all_lower_hex(h)) << h;
  }
}

TEST(RandomHex, DoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(sb::random_hex(8));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RandomHex, UsesEveryDigit) {
  std::set<char> digits;
  const std::string h = sb::random_hex(256);
  digits.insert(h.begin(), h.end());
  EXPECT_EQ(digits.size(), 16u) << "512 random digits miss one of 16 with probability ~1e-13";
}

TEST(UuidV4, FormatVersionAndVariant) {
  for (int i = 0; i < 200; ++i) {
    const std::string u = sb::uuid_v4();
    ASSERT_EQ(u.size(), 36u) << u;
    for (std::size_t p : {8u, 13u, 18u, 23u}) EXPECT_EQ(u[p], '-') << u;
    std::string digits;
    for (char c : u)
      if (c != '-') digits += c;
    EXPECT_EQ(digits.size(), 32u);
    EXPECT_TRUE(all_lower_hex(digits)) << u;
    EXPECT_EQ(u[14], '4') << "version nibble: " << u;
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << "RFC 4122 variant: " << u;
  }
}

TEST(UuidV4, Unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(sb::uuid_v4());
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
