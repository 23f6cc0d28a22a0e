// `squadbox chat` through the real binary against a real `squadbox serve` (no container
// needs to answer: the reply path itself is covered by the end-to-end tests).
#include <gtest/gtest.h>

#include "storage/sqlite.hpp"
#include "tests/support/node_process.hpp"

namespace {

using sb::test::NodeProcess;
using sb::test::run_cli;
using sb::test::TempDir;

std::vector<std::string> stored_texts(const TempDir& dir) {
  sb::storage::OpenOptions ro;
  ro.read_only = true;
  auto db = sb::storage::Database::open(dir.file("squadbox.db"), ro);
  EXPECT_TRUE(db);
  auto s = db->prepare("SELECT text || '|' || sender_name FROM inbound_messages WHERE channel = 'local' ORDER BY id");
  EXPECT_TRUE(s);
  std::vector<std::string> out;
  while (true) {
    auto row = s->step();
    if (!row || !*row) break;
    out.push_back(s->column_text(0));
  }
  return out;
}

TEST(ChatCli, SendsThroughTheRunningNode) {
  TempDir dir;
  NodeProcess node(dir, {{"SQUADBOX_NAMESPACES_CHAT_REPLY_TIMEOUT_MS", "1500"}});
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
  auto cli = [&](const std::string& tag, std::vector<std::string> args,
                 const std::optional<std::string>& input = std::nullopt) {
    args.push_back("--data-dir");
    args.push_back(dir.path());
    return run_cli(dir, tag, args, input);
  };
  ASSERT_EQ(cli("add", {"ns", "add", "team"}).code, 0);

  // Whether an agent answers depends on the machine (a fresh data dir has no agent
  // image: the turn fails; a slow runtime: no reply within 1.5 s). Each outcome has its
  // own exit code and message, and the message is stored exactly as typed.
  auto words = cli("words", {"chat", "team", "hello", "there"});
  if (words.code == 0) {
    EXPECT_FALSE(words.out.empty());
  } else {
    EXPECT_EQ(words.code, 1);
    EXPECT_TRUE(words.err.find("no reply within 1500 ms") != std::string::npos ||
                words.err.find("the agent's turn failed: ") != std::string::npos)
        << words.err;
  }
  auto piped = cli("stdin", {"chat", "team", "--sender", "Ann"}, std::string("line one\nline two\n\n"));
  EXPECT_TRUE(piped.code == 0 || piped.code == 1) << piped.err;
  auto dash = cli("dash", {"chat", "team", "-"}, std::string("from dash"));
  EXPECT_TRUE(dash.code == 0 || dash.code == 1) << dash.err;
  EXPECT_EQ(stored_texts(dir),
            (std::vector<std::string>{"hello there|operator", "line one\nline two|Ann", "from dash|operator"}));

  auto missing = cli("missing", {"chat", "nobody", "hi"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no namespace nobody"), std::string::npos) << missing.err;
  auto empty = cli("empty", {"chat", "team"}, std::string("\n"));
  EXPECT_EQ(empty.code, 2);
  auto too_long = cli("long", {"chat", "team", std::string(32 * 1024 + 1, 'x')});
  EXPECT_EQ(too_long.code, 2);
  EXPECT_NE(too_long.err.find("text: "), std::string::npos) << too_long.err;
  EXPECT_EQ(stored_texts(dir).size(), 3u);
  EXPECT_EQ(node.stop(), 0);
}

}  // namespace
