// `squadbox secret ...` through the real binary against a real node, and the node's
// refusal to start with an exposed vault key file.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "storage/vault_store.hpp"
#include "tests/support/node_process.hpp"

namespace {

using sb::test::NodeProcess;
using sb::test::run_cli;
using sb::test::TempDir;

// A second Vault on the node's files (SQLite allows the second connection) sees what
// the node stored: the only way to read a value back, since no route returns one.
std::string stored_value(const TempDir& dir, const std::string& name) {
  sb::storage::VaultOptions o;
  o.db_path = dir.file("squadbox.db");
  o.key_file = dir.file("vault.key");
  auto vault = sb::storage::Vault::open(o);
  if (!vault) return "<" + vault.error().message + ">";
  auto v = (*vault)->get(name);
  return v ? v->reveal() : "<" + v.error().code + ">";
}

TEST(SecretCli, SetListRemoveAndRotateAgainstARunningNode) {
  TempDir dir;
  NodeProcess node(dir);
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
  const std::string d = dir.path();

  auto set = run_cli(dir, "set", {"secret", "set", "anthropic", "--data-dir", d}, "sk-cli-VALUE\n");
  EXPECT_EQ(set.code, 0) << set.err;
  EXPECT_EQ(set.out, "created anthropic\n");
  EXPECT_EQ(stored_value(dir, "anthropic"), "sk-cli-VALUE") << "one trailing newline is stripped";

  auto update = run_cli(dir, "update", {"secret", "set", "anthropic", "--data-dir", d}, "line1\nline2\n\n");
  EXPECT_EQ(update.code, 0) << update.err;
  EXPECT_EQ(update.out, "updated anthropic\n");
  EXPECT_EQ(stored_value(dir, "anthropic"), "line1\nline2\n") << "only one newline is stripped";
  ASSERT_EQ(run_cli(dir, "set2", {"secret", "set", "slack.bot", "--data-dir", d}, "xoxb-VALUE").code, 0);

  auto list = run_cli(dir, "list", {"secret", "list", "--data-dir", d});
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(list.out, "anthropic\nslack.bot\n");
  auto json = run_cli(dir, "list-json", {"secret", "list", "--json", "--data-dir", d});
  EXPECT_EQ(json.code, 0);
  EXPECT_NE(json.out.find(R"("updatedAt":")"), std::string::npos) << json.out;
  EXPECT_EQ(json.out.find("VALUE"), std::string::npos);

  auto rotate = run_cli(dir, "rotate", {"secret", "rotate-key", "--data-dir", d});
  EXPECT_EQ(rotate.code, 0) << rotate.err;
  EXPECT_EQ(rotate.out, "re-encrypted 2 secret(s) under a new key\n");
  EXPECT_EQ(stored_value(dir, "slack.bot"), "xoxb-VALUE");

  auto rm = run_cli(dir, "rm", {"secret", "rm", "slack.bot", "--data-dir", d});
  EXPECT_EQ(rm.code, 0) << rm.err;
  auto rm_again = run_cli(dir, "rm2", {"secret", "rm", "slack.bot", "--data-dir", d});
  EXPECT_EQ(rm_again.code, 1);
  EXPECT_NE(rm_again.err.find("no secret named slack.bot"), std::string::npos) << rm_again.err;

  ASSERT_TRUE(node.stop().has_value());
  const std::string log = node.process().stderr_text();
  for (const char* value : {"sk-cli-VALUE", "xoxb-VALUE", "line1"})
    EXPECT_EQ(log.find(value), std::string::npos) << value << " leaked into the node's log";
}

TEST(SecretCli, RefusesEmptyValuesAndBadNames) {
  TempDir dir;
  NodeProcess node(dir);
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
  const std::string d = dir.path();
  for (const std::string input : {"", "\n"}) {
    auto r = run_cli(dir, "empty", {"secret", "set", "k", "--data-dir", d}, input);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("empty value refused"), std::string::npos) << r.err;
  }
  auto bad = run_cli(dir, "bad", {"secret", "set", "bad name", "--data-dir", d}, "v");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("name: must match"), std::string::npos) << bad.err;
  auto binary = run_cli(dir, "binary", {"secret", "set", "k", "--data-dir", d}, std::string("\xff\xfex"));
  EXPECT_EQ(binary.code, 2);
  EXPECT_NE(binary.err.find("not UTF-8"), std::string::npos) << binary.err;
  auto missing_arg = run_cli(dir, "noarg", {"secret", "set", "--data-dir", d}, "v");
  EXPECT_EQ(missing_arg.code, 2) << "CLI11 usage error";
  auto list = node.call("GET", "/api/v1/container/secrets");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->body, "[]");
  node.stop();
}

TEST(SecretCli, WithoutANodeTheCommandFailsCleanly) {
  TempDir dir;
  auto r = run_cli(dir, "nonode",
                   {"secret", "list", "--data-dir", dir.path(), "--url", "http://127.0.0.1:1", "--token", "x"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot reach the node"), std::string::npos) << r.err;
}

TEST(VaultKeyFile, TheNodeRefusesToStartWithAnExposedKeyFile) {
  TempDir dir;
  {
    NodeProcess node(dir);
    ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
    ASSERT_EQ(node.stop(), 0);
  }
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("vault.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ::chmod(dir.file("vault.key").c_str(), 0644);
  NodeProcess node(dir);
  auto code = node.process().wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value()) << "the node started with a world-readable key file";
  EXPECT_EQ(*code, 1);
  const std::string log = node.process().stderr_text();
  EXPECT_NE(log.find("vault.key_mode"), std::string::npos) << log;
  EXPECT_NE(log.find(dir.file("vault.key")), std::string::npos) << log;
}

TEST(VaultKeyFile, TheEnvironmentKeyIsUsedAndNoKeyFileIsMade) {
  TempDir dir;
  const std::string key(64, '7');
  {
    NodeProcess node(dir, {{"SQUADBOX_VAULT_KEY", key}});
    ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
    auto set = node.call("PUT", "/api/v1/container/secrets/k", R"({"value":"env-VALUE"})");
    ASSERT_TRUE(set.ok());
    EXPECT_EQ(set->status, 201);
    auto rotate = node.call("POST", "/api/v1/container/secrets:rotate-key");
    ASSERT_TRUE(rotate.ok());
    EXPECT_EQ(rotate->status, 409);
    EXPECT_EQ(node.stop(), 0);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("vault.key")));
  // Without the variable the node would make a fresh key that cannot read the rows: it refuses.
  NodeProcess node(dir);
  auto code = node.process().wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(node.process().stderr_text().find("vault.key_missing"), std::string::npos);
}

}  // namespace
