// `squadbox ns|map|allow|routing` through the real binary against a real `squadbox serve`.
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/support/node_process.hpp"

namespace {

using sb::test::NodeProcess;
using sb::test::run_cli;
using sb::test::TempDir;

TEST(NamespacesCli, NamespacesMappingsAllowlistsAndRoutingAgainstARunningNode) {
  TempDir dir;
  NodeProcess node(dir);
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
  const std::string d = dir.path();
  auto cli = [&](const std::string& tag, std::vector<std::string> args) {
    args.push_back("--data-dir");
    args.push_back(d);
    return run_cli(dir, tag, args);
  };

  auto add = cli("add", {"ns", "add", "team", "--description", "The team", "--trigger", "@Andy"});
  EXPECT_EQ(add.code, 0) << add.err;
  EXPECT_TRUE(add.out.starts_with("created team ")) << add.out;
  EXPECT_NE(add.out.find("(main)"), std::string::npos) << "the first namespace is main: " << add.out;
  auto add2 = cli("add2", {"ns", "add", "ops", "--no-trigger-in-groups"});
  EXPECT_EQ(add2.code, 0) << add2.err;
  EXPECT_EQ(add2.out.find("(main)"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("workspaces/ops/ipc")));

  auto dup = cli("dup", {"ns", "add", "team"});
  EXPECT_EQ(dup.code, 1);
  EXPECT_NE(dup.err.find("already exists (HTTP 409)"), std::string::npos) << dup.err;
  auto bad = cli("bad", {"ns", "add", "-x-"});
  EXPECT_NE(bad.code, 0);
  auto bad_name = cli("bad-name", {"ns", "add", "bad.name"});
  EXPECT_EQ(bad_name.code, 2);
  EXPECT_NE(bad_name.err.find("name: must match"), std::string::npos) << bad_name.err;

  EXPECT_EQ(cli("map", {"map", "add", "tg:-1001", "team"}).out, "mapped tg:-1001 -> team\n");
  EXPECT_EQ(cli("map2", {"map", "add", "slack:C01", "ops"}).code, 0);
  auto clash = cli("clash", {"map", "add", "tg:-1001", "ops"});
  EXPECT_EQ(clash.code, 1);
  EXPECT_NE(clash.err.find("replace"), std::string::npos) << clash.err;
  EXPECT_EQ(cli("replace", {"map", "add", "tg:-1001", "ops", "--replace"}).code, 0);
  EXPECT_EQ(cli("map-list", {"map", "list"}).out, "slack:C01\tops\ntg:-1001\tops\n");
  EXPECT_EQ(cli("map-list-team", {"map", "list", "--namespace", "team"}).out, "");
  auto bad_jid = cli("bad-jid", {"map", "add", "irc:1", "ops"});
  EXPECT_EQ(bad_jid.code, 2);
  EXPECT_NE(bad_jid.err.find("jid: "), std::string::npos) << bad_jid.err;

  auto list = cli("list", {"ns", "list"});
  EXPECT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("team\t"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\tmain\t-\n"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\t-\tslack:C01,tg:-1001\n"), std::string::npos) << list.out;
  auto show = cli("show", {"ns", "show", "team"});
  EXPECT_EQ(show.code, 0);
  EXPECT_NE(show.out.find(R"("trigger":"@Andy")"), std::string::npos) << show.out;
  EXPECT_EQ(cli("show-missing", {"ns", "show", "nope"}).code, 1);

  EXPECT_EQ(cli("allow-show", {"allow", "show", "telegram/main"}).out, "telegram/main: everyone\n");
  EXPECT_EQ(cli("allow-only", {"allow", "only", "telegram/main", "111", "222"}).out, "telegram/main: only 111 222\n");
  EXPECT_EQ(cli("allow-show2", {"allow", "show", "telegram/main"}).out, "telegram/main: only 111 222\n");
  EXPECT_EQ(cli("allow-all", {"allow", "everyone", "telegram/main"}).out, "telegram/main: everyone\n");
  EXPECT_EQ(cli("allow-bad", {"allow", "show", "telegram"}).code, 2);

  EXPECT_EQ(cli("routing", {"routing", "show"}).out, "unmapped chats are ignored\n");
  auto set = cli("routing-set", {"routing", "set", "namespace", "ops"});
  EXPECT_EQ(set.code, 0) << set.err;
  EXPECT_TRUE(set.out.starts_with("unmapped chats go to namespace ops (")) << set.out;
  EXPECT_EQ(cli("routing-missing", {"routing", "set", "namespace"}).code, 2);
  EXPECT_EQ(cli("routing-unknown", {"routing", "set", "namespace", "nope"}).code, 2);

  auto rm_default = cli("rm-default", {"ns", "rm", "ops"});
  EXPECT_EQ(rm_default.code, 1) << "the default namespace cannot go";
  EXPECT_EQ(cli("routing-ignore", {"routing", "set", "ignore"}).out, "unmapped chats are ignored\n");
  EXPECT_EQ(cli("rm", {"ns", "rm", "ops"}).out, "removed ops\n");
  EXPECT_EQ(cli("map-after", {"map", "list"}).out, "") << "mappings go with the namespace";
  EXPECT_EQ(cli("unmap-missing", {"map", "rm", "tg:-1001"}).code, 1);

  ASSERT_TRUE(node.stop().has_value());
}

}  // namespace
