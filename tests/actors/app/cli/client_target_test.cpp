#include "actors/app/cli/client_target.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "actors/app/admin/admin_routes.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using sb::app::cli::ClientFlags;
using sb::app::cli::resolve_client_target;

sb::config::Config config_in(const sb::test::TempDir& dir) {
  sb::config::Config c;
  c.node.data_dir = dir.path();
  return c;
}

TEST(ClientTarget, FlagsWinOverEnvironmentAndFiles) {
  sb::test::TempDir dir;
  std::ofstream(dir.file("admin.url")) << "http://127.0.0.1:1111\n";
  std::ofstream(dir.file("admin.token")) << "filetoken\n";
  auto t = resolve_client_target({"http://h:2/", "flagtoken"}, config_in(dir),
                                 {{"SQUADBOX_URL", "http://env:3"}, {"SQUADBOX_TOKEN", "envtoken"}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->base_url, "http://h:2");
  EXPECT_EQ(t->token.reveal(), "flagtoken");
}

TEST(ClientTarget, EnvironmentWinsOverFiles) {
  sb::test::TempDir dir;
  std::ofstream(dir.file("admin.url")) << "http://127.0.0.1:1111\n";
  std::ofstream(dir.file("admin.token")) << "filetoken\n";
  auto t =
      resolve_client_target({}, config_in(dir), {{"SQUADBOX_URL", "http://env:3"}, {"SQUADBOX_TOKEN", "envtoken"}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->base_url, "http://env:3");
  EXPECT_EQ(t->token.reveal(), "envtoken");
}

TEST(ClientTarget, DataDirFilesThenConfiguredAddress) {
  sb::test::TempDir dir;
  std::ofstream(dir.file("admin.token")) << "filetoken\n";
  auto c = config_in(dir);
  auto without_url_file = resolve_client_target({}, c, {});
  ASSERT_TRUE(without_url_file.ok());
  EXPECT_EQ(without_url_file->base_url, "http://127.0.0.1:55765");
  EXPECT_EQ(without_url_file->token.reveal(), "filetoken");

  std::ofstream(dir.file("admin.url")) << "http://127.0.0.1:4444\n";
  auto with_url_file = resolve_client_target({}, c, {});
  ASSERT_TRUE(with_url_file.ok());
  EXPECT_EQ(with_url_file->base_url, "http://127.0.0.1:4444");

  c.admin.address = "::1";
  std::filesystem::remove(dir.file("admin.url"));
  auto v6 = resolve_client_target({}, c, {});
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->base_url, "http://[::1]:55765");
}

TEST(ClientTarget, MissingTokenIsAClearError) {
  sb::test::TempDir dir;
  auto t = resolve_client_target({}, config_in(dir), {});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, "cli.no_token");
  EXPECT_NE(t.error().message.find("--token"), std::string::npos);
}

TEST(BearerToken, MatchesOnlyTheExactToken) {
  sb::Secret token("0123456789abcdef");
  std::string good = "Bearer 0123456789abcdef";
  std::string wrong = "Bearer 0123456789abcdeX";
  std::string longer = "Bearer 0123456789abcdef0";
  std::string scheme = "Basic 0123456789abcdef";
  std::string lower = "bearer 0123456789abcdef";
  EXPECT_TRUE(sb::app::admin::bearer_matches(&good, token));
  EXPECT_FALSE(sb::app::admin::bearer_matches(&wrong, token));
  EXPECT_FALSE(sb::app::admin::bearer_matches(&longer, token));
  EXPECT_FALSE(sb::app::admin::bearer_matches(&scheme, token));
  EXPECT_TRUE(sb::app::admin::bearer_matches(&lower, token)) << "the scheme is case-insensitive";
  EXPECT_FALSE(sb::app::admin::bearer_matches(nullptr, token));
  EXPECT_FALSE(sb::app::admin::bearer_matches(&good, sb::Secret{}));
}

}  // namespace

#include "actors/app/cli/cowork.hpp"
#include "actors/app/cli/duration.hpp"

namespace {

TEST(Duration, ParsesUnitsAndRejectsGarbage) {
  using namespace std::chrono_literals;
  EXPECT_EQ(*sb::app::cli::parse_duration("250ms"), 250ms);
  EXPECT_EQ(*sb::app::cli::parse_duration("90s"), 90s);
  EXPECT_EQ(*sb::app::cli::parse_duration("30m"), 30min);
  EXPECT_EQ(*sb::app::cli::parse_duration("2h"), 2h);
  EXPECT_EQ(*sb::app::cli::parse_duration("0"), 0ms);
  for (const char* bad : {"", "5", "-1s", "1d", "m", "1.5s", "99999999999999999999h"})
    EXPECT_FALSE(sb::app::cli::parse_duration(bad).ok()) << bad;
}

TEST(MountFlag, NamePathAndMode) {
  auto ro = sb::app::cli::parse_mount_flag("ref=/srv/data");
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(ro->name, "ref");
  EXPECT_EQ(ro->path, "/srv/data");
  EXPECT_FALSE(ro->read_write);
  auto rw = sb::app::cli::parse_mount_flag("out=/srv/out:rw");
  ASSERT_TRUE(rw.ok());
  EXPECT_EQ(rw->path, "/srv/out");
  EXPECT_TRUE(rw->read_write);
  for (const char* bad : {"", "=x", "name=", "noequals"}) EXPECT_FALSE(sb::app::cli::parse_mount_flag(bad).ok()) << bad;
}

}  // namespace
