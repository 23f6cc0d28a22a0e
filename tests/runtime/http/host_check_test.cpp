// The admin listener's Host check against DNS rebinding (L1 of the 2026-12 audit).
#include "runtime/http/host_check.hpp"

#include <gtest/gtest.h>

namespace {

using sb::http::host_allowed;
using sb::http::host_of;
using sb::http::HostPolicy;

TEST(HostCheck, HostPartOfTheHeader) {
  EXPECT_EQ(host_of("127.0.0.1:55765"), "127.0.0.1");
  EXPECT_EQ(host_of("[::1]:8080"), "::1");
  EXPECT_EQ(host_of("LocalHost."), "localhost");
  EXPECT_EQ(host_of("example.com"), "example.com");
  EXPECT_FALSE(host_of(""));
  EXPECT_FALSE(host_of("[::1"));
  EXPECT_FALSE(host_of("::1"));  // a bare IPv6 address is not a valid Host
  EXPECT_FALSE(host_of("a b"));
  EXPECT_FALSE(host_of("evil.com/x"));
  EXPECT_FALSE(host_of("user@127.0.0.1"));
}

TEST(HostCheck, LoopbackLiteralsAndLocalhostPassRebindableNamesDoNot) {
  const HostPolicy p{"127.0.0.1", {}};
  for (const char* ok : {"127.0.0.1:55765", "127.1.2.3", "[::1]:55765", "localhost:55765", "localhost"})
    EXPECT_TRUE(host_allowed(std::string(ok), p)) << ok;
  for (const char* bad : {"attacker.example:55765", "127.0.0.1.nip.io", "192.168.1.10", "[::2]", "", "a b"})
    EXPECT_FALSE(host_allowed(std::string(bad), p)) << bad;
  EXPECT_TRUE(host_allowed(std::nullopt, p));  // HTTP/1.0 tools send none; browsers always do
}

TEST(HostCheck, TheConfiguredAddressAndListedNamesPass) {
  EXPECT_TRUE(host_allowed(std::string("10.0.0.5:55765"), HostPolicy{"10.0.0.5", {}}));
  EXPECT_FALSE(host_allowed(std::string("10.0.0.6"), HostPolicy{"10.0.0.5", {}}));
  // A wildcard listen address adds no name: it would allow any.
  EXPECT_FALSE(host_allowed(std::string("10.0.0.5"), HostPolicy{"0.0.0.0", {}}));
  EXPECT_TRUE(host_allowed(std::string("Admin.Internal:443"), HostPolicy{"0.0.0.0", {"admin.internal"}}));
}

}  // namespace
