// The Debian agent image's plan: the mirror from the machine's apt sources, the package
// list an operator types, the mmdebstrap command. (The build itself is in the agent
// end-to-end suite: it downloads a few hundred packages.)
#include "runtime/container/oci/debian_image.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace sb::container::oci {
namespace {

constexpr const char* kDeb822 = R"(Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
)";

TEST(DebianImage, TheMirrorComesFromTheDeb822SourceOfTheSuite) {
  auto m = debian_mirror_from_sources(kDeb822, "");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(*m, "http://deb.debian.org/debian");
  // A security archive listed first is not a mirror of the suite.
  auto s = debian_mirror_from_sources(
      "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm\n\n"
      "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n"
      "Types: deb\nURIs: https://mirror.example/debian\nSuites: bookworm\n",
      "");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(*s, "https://mirror.example/debian");
}

TEST(DebianImage, AOneLineSourcesListIsTheFallback) {
  auto m = debian_mirror_from_sources("",
                                      "# comment\ndeb-src http://x/debian bookworm main\n"
                                      "deb [arch=amd64 signed-by=/k.gpg] http://mirror.local/debian bookworm main\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(*m, "http://mirror.local/debian");
}

TEST(DebianImage, NoMirrorIsAClearError) {
  auto m = debian_mirror_from_sources("Types: deb\nURIs: http://x/debian\nSuites: trixie\n", "garbage\n\n");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "image.no_mirror");
  EXPECT_NE(m.error().message.find("--mirror"), std::string::npos);
}

TEST(DebianImage, PackageListsAreCheckedNames) {
  auto p = parse_package_list(" git,python3, ,libstdc++6,python3 ");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p, (std::vector<std::string>{"git", "python3", "libstdc++6"}));
  EXPECT_TRUE(parse_package_list("").value().empty());
  for (const char* bad : {"Git", "a", "x;rm -rf /", "--force", "pkg name", "ä"}) {
    auto r = parse_package_list(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "image.bad_package");
  }
}

TEST(DebianImage, TheCommandIsMmdebstrapMinbaseFromTheMirror) {
  DebianImagePlan plan;
  plan.mirror = "http://deb.debian.org/debian";
  plan.packages = {"python3", "git"};
  auto argv = mmdebstrap_argv(plan, "/data/images/.tmp/rootfs");
  ASSERT_GE(argv.size(), 5u);
  EXPECT_EQ(argv.front(), "mmdebstrap");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--variant=minbase"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--include=python3,git"), argv.end());
  EXPECT_EQ(argv[argv.size() - 3], "bookworm");
  EXPECT_EQ(argv[argv.size() - 2], "/data/images/.tmp/rootfs");
  EXPECT_EQ(argv.back(), "http://deb.debian.org/debian");
  plan.packages.clear();
  auto bare = mmdebstrap_argv(plan, "/r");
  for (const auto& a : bare) EXPECT_FALSE(a.starts_with("--include")) << a;
}

}  // namespace
}  // namespace sb::container::oci
