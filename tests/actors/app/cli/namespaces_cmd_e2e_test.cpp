// `squadbox ns|map|allow|routing` through the real binary against a real `squadbox serve`.
#include <filesystem>
#include <fstream>

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

// `ns set` and `ns instructions` against a running node: what they print, what the node
// stores, and usage errors that name the flag.
TEST(NamespacesCli, AgentSettingsAndInstructions) {
  TempDir dir;
  NodeProcess node(dir);
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
  const std::string d = dir.path();
  auto cli = [&](const std::string& tag, std::vector<std::string> args,
                 const std::optional<std::string>& input = std::nullopt) {
    args.push_back("--data-dir");
    args.push_back(d);
    return run_cli(dir, tag, args, input);
  };
  ASSERT_EQ(cli("add", {"ns", "add", "team"}).code, 0);

  auto set = cli("set", {"ns", "set", "team", "--mode", "llm", "--route", "local", "--protocol", "openai", "--model",
                         "qwen2.5", "--max-steps", "7", "--tools", "read_file,bash"});
  EXPECT_EQ(set.code, 0) << set.err;
  EXPECT_EQ(set.out,
            "mode\tllm\nroute\tlocal\nprotocol\topenai\nmodel\tqwen2.5\nmaxTokens\t1024\t(default)\nmaxSteps\t7\n"
            "tools\tread_file,bash\ncommand\t-\t(default)\n");
  auto back = cli("set-default", {"ns", "set", "team", "--model", "default", "--tools", "default"});
  EXPECT_EQ(back.code, 0) << back.err;
  EXPECT_NE(back.out.find("model\tclaude-sonnet-4-5\t(default)\n"), std::string::npos) << back.out;
  EXPECT_NE(back.out.find("tools\tbash,read_file,write_file,"), std::string::npos) << back.out;

  auto bad = cli("bad", {"ns", "set", "team", "--max-steps", "500"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--max-steps: must be an integer from 1 to 200"), std::string::npos) << bad.err;
  auto bad_tool = cli("bad-tool", {"ns", "set", "team", "--tools", "bash,telnet"});
  EXPECT_EQ(bad_tool.code, 2);
  EXPECT_NE(bad_tool.err.find("--tools: unknown tool telnet"), std::string::npos) << bad_tool.err;
  EXPECT_EQ(cli("bad-mode", {"ns", "set", "team", "--mode", "chat"}).code, 2);
  EXPECT_EQ(cli("nothing", {"ns", "set", "team"}).code, 2);
  EXPECT_EQ(cli("missing", {"ns", "set", "nope", "--mode", "echo"}).code, 1);

  EXPECT_EQ(cli("instr-empty", {"ns", "instructions", "team"}).out, "");
  const std::string text = "Answer in German.\nBe brief.";
  auto put = cli("instr-set", {"ns", "instructions", "team", "--file", "-"}, text);
  EXPECT_EQ(put.code, 0) << put.err;
  EXPECT_EQ(put.out, "set the instructions of team (" + std::to_string(text.size()) + " bytes)\n");
  EXPECT_EQ(cli("instr-get", {"ns", "instructions", "team"}).out, text + "\n");
  { std::ofstream(dir.file("team.md")) << "From a file.\n"; }
  EXPECT_EQ(cli("instr-file", {"ns", "instructions", "team", "--file", dir.file("team.md")}).code, 0);
  EXPECT_EQ(cli("instr-get2", {"ns", "instructions", "team"}).out, "From a file.\n");
  auto show = cli("show", {"ns", "show", "team"});
  EXPECT_NE(show.out.find(R"("instructions":"From a file.\n")"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find(R"("agentEffective":{"mode":"llm")"), std::string::npos) << show.out;
  EXPECT_EQ(cli("instr-missing", {"ns", "instructions", "team", "--file", dir.file("nope.md")}).code, 2);
  EXPECT_NE(cli("instr-both", {"ns", "instructions", "team", "--file", "-", "--clear"}).code, 0);
  auto clear = cli("instr-clear", {"ns", "instructions", "team", "--clear"});
  EXPECT_EQ(clear.out, "cleared the instructions of team\n") << clear.err;
  EXPECT_EQ(cli("instr-get3", {"ns", "instructions", "team"}).out, "");

  ASSERT_TRUE(node.stop().has_value());
}

}  // namespace
