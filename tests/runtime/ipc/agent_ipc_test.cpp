// build/bin/squadbox-agent as a child process (no container): inputs written with the
// host library, replies observed through the watcher.
#include <signal.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "runtime/ipc/ipc_directory.hpp"
#include "runtime/ipc/ipc_watcher.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace sb::ipc;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

using Env = std::map<std::string, std::string>;

struct AgentRun {
  explicit AgentRun(std::map<std::string, std::string> env = {}, std::vector<std::string> args = {},
                    bool start = true) {
    env_ = std::move(env);
    env_["SQUADBOX_IPC_DIR"] = dir.root();
    args_ = std::move(args);
    if (start) this->start();
  }
  void start() {
    child = std::make_unique<sb::test::ChildProcess>(sb::test::bin_dir() + "/squadbox-agent", args_, env_,
                                                     tmp.path() + "/agent");
  }
  // Deliveries until `n` turn_done payloads arrived (or the deadline).
  std::vector<Delivery> until_turns(size_t n, std::chrono::milliseconds timeout = 20s) {
    std::vector<Delivery> all;
    size_t done = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (done < n && std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      for (auto& d : watcher.wait_for(left)) {
        if (std::holds_alternative<TurnDone>(d.payload)) ++done;
        all.push_back(std::move(d));
      }
    }
    return all;
  }
  std::string log() const { return child ? child->stderr_text() : ""; }

  sb::test::TempDir tmp{"squadbox-agent"};
  IpcDirectory dir = IpcDirectory::create(tmp.path() + "/ipc", {std::nullopt, std::nullopt}).value();
  IpcWatcher watcher = IpcWatcher::open(dir.root()).value();
  std::map<std::string, std::string> env_;
  std::vector<std::string> args_;
  std::unique_ptr<sb::test::ChildProcess> child;
};

const OutboundMessage& msg(const Delivery& d) {
  return std::get<OutboundMessage>(d.payload);
}
const TurnDone& done(const Delivery& d) {
  return std::get<TurnDone>(d.payload);
}

TEST(AgentE2E, EchoRepliesInOrderThenExitsOnClose) {
  AgentRun a;
  std::vector<std::string> ids;
  for (auto text : {"one", "two", "three"}) ids.push_back(a.dir.write_input(text, std::string("tg:9")).value());
  auto got = a.until_turns(3);
  ASSERT_EQ(got.size(), 6u) << a.log();
  const char* texts[] = {"one", "two", "three"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(msg(got[2 * i]).text, texts[i]);
    EXPECT_EQ(msg(got[2 * i]).in_reply_to, ids[i]);
    EXPECT_EQ(msg(got[2 * i]).chat_jid, "tg:9");
    EXPECT_EQ(done(got[2 * i + 1]), (TurnDone{ids[i], true, ""}));
  }
  EXPECT_TRUE(fs::is_empty(a.dir.path(Box::input)));  // processed inputs are removed
  ASSERT_TRUE(a.dir.close().ok());
  EXPECT_EQ(a.child->wait(10s), 0) << a.log();
  EXPECT_NE(a.log().find("event=agent.exit reason=close"), std::string::npos) << a.log();
}

TEST(AgentE2E, InputsAlreadyPendingAtStartAndBeforeCloseAreAllProcessed) {
  AgentRun a({}, {}, /*start=*/false);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.dir.write_input("m" + std::to_string(i)).ok());
  ASSERT_TRUE(a.dir.close().ok());
  a.start();
  EXPECT_EQ(a.child->wait(10s), 0) << a.log();
  auto got = a.until_turns(5, 5s);
  ASSERT_EQ(got.size(), 10u) << a.log();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(msg(got[2 * i]).text, "m" + std::to_string(i));
  EXPECT_FALSE(fs::exists(a.dir.path(Box::input) + "/_close"));
}

TEST(AgentE2E, ExecModeRunsTheCommandPerMessage) {
  AgentRun a(Env{{"SQUADBOX_AGENT_MODE", "exec"}, {"SQUADBOX_AGENT_COMMAND", R"(["/bin/sh","-c","tr a-z A-Z"])"}});
  auto id = a.dir.write_input("shout this").value();
  auto got = a.until_turns(1);
  ASSERT_EQ(got.size(), 2u) << a.log();
  // stdin is the input message JSON, so the reply is that JSON upper-cased.
  auto& text = msg(got[0]).text;
  EXPECT_NE(text.find("\"TEXT\":\"SHOUT THIS\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"TYPE\":\"MESSAGE\""), std::string::npos) << text;
  EXPECT_EQ(msg(got[0]).in_reply_to, id);
  EXPECT_TRUE(done(got[1]).ok);
  ASSERT_TRUE(a.dir.close().ok());
  EXPECT_EQ(a.child->wait(10s), 0) << a.log();
}

TEST(AgentE2E, ExecFailureGivesTurnDoneError) {
  AgentRun a(Env{{"SQUADBOX_AGENT_MODE", "exec"},
                 {"SQUADBOX_AGENT_COMMAND", R"(["/bin/sh","-c","cat >/dev/null; echo partial; exit 3"])"}});
  auto id = a.dir.write_input("x").value();
  auto got = a.until_turns(1);
  ASSERT_EQ(got.size(), 1u) << a.log();
  EXPECT_EQ(done(got[0]).in_reply_to, id);
  EXPECT_FALSE(done(got[0]).ok);
  EXPECT_NE(done(got[0]).error.find("status 3"), std::string::npos);
  ASSERT_TRUE(a.dir.close().ok());
  EXPECT_EQ(a.child->wait(10s), 0) << a.log();
}

TEST(AgentE2E, OneshotPromptFromArgs) {
  AgentRun a(Env{{"SQUADBOX_AGENT_ONESHOT", "1"}}, {"--", "hello", "world"});
  EXPECT_EQ(a.child->wait(10s), 0) << a.log();
  auto got = a.until_turns(1, 5s);
  ASSERT_EQ(got.size(), 2u) << a.log();
  EXPECT_EQ(msg(got[0]).text, "hello world");
  EXPECT_EQ(msg(got[0]).in_reply_to, "prompt");
  EXPECT_EQ(done(got[1]).in_reply_to, "prompt");
}

TEST(AgentE2E, OneshotPromptFromEnvInExecMode) {
  AgentRun a(Env{{"SQUADBOX_AGENT_ONESHOT", "1"},
                 {"SQUADBOX_PROMPT", "abc"},
                 {"SQUADBOX_AGENT_MODE", "exec"},
                 {"SQUADBOX_AGENT_COMMAND", R"(["/bin/sh","-c","cat >/dev/null; echo done"])"}});
  EXPECT_EQ(a.child->wait(10s), 0) << a.log();
  auto got = a.until_turns(1, 5s);
  ASSERT_EQ(got.size(), 2u) << a.log();
  EXPECT_EQ(msg(got[0]).text, "done");
}

TEST(AgentE2E, MalformedInputGoesToErrorsAndTheAgentCarriesOn) {
  AgentRun a;
  ASSERT_TRUE(write_atomic(a.dir.path(Box::input), "0000000000001-000000001.json", "{oops").ok());
  ASSERT_TRUE(
      write_atomic(a.dir.path(Box::input), "0000000000001-000000002.json", R"({"type":"schedule_task","prompt":"p"})")
          .ok());
  auto id = a.dir.write_input("still alive").value();
  auto got = a.until_turns(1);
  ASSERT_EQ(got.size(), 2u) << a.log();
  EXPECT_EQ(msg(got[0]).text, "still alive");
  std::string errors = a.dir.errors_path();
  EXPECT_TRUE(fs::exists(errors + "/input-0000000000001-000000001.json"));
  EXPECT_NE(sb::test::read_file(errors + "/input-0000000000001-000000001.json.reason").find("ipc.malformed"),
            std::string::npos);
  EXPECT_NE(sb::test::read_file(errors + "/input-0000000000001-000000002.json.reason").find("ipc.wrong_directory"),
            std::string::npos);
  EXPECT_NE(a.log().find("event=agent.input_rejected"), std::string::npos);
  ASSERT_TRUE(a.dir.close().ok());
  EXPECT_EQ(a.child->wait(10s), 0) << a.log();
}

TEST(AgentE2E, SigtermFinishesTheCurrentMessageAndExitsZero) {
  // The command takes a moment, so SIGTERM lands mid-turn; the turn must still complete.
  AgentRun a(Env{
      {"SQUADBOX_AGENT_MODE", "exec"},
      {"SQUADBOX_AGENT_COMMAND", R"(["/bin/sh","-c","cat >/dev/null; echo started >&2; sleep 0.3; echo finished"])"}});
  auto id = a.dir.write_input("slow").value();
  ASSERT_TRUE(sb::test::wait_until([&] { return a.log().find("started") != std::string::npos; }, 10s)) << a.log();
  a.child->signal(SIGTERM);
  EXPECT_EQ(a.child->wait(10s), 0) << a.log();
  auto got = a.until_turns(1, 5s);
  ASSERT_EQ(got.size(), 2u) << a.log();
  EXPECT_EQ(msg(got[0]).text, "finished");
  EXPECT_EQ(done(got[1]).in_reply_to, id);
  EXPECT_NE(a.log().find("event=agent.exit reason=signal"), std::string::npos) << a.log();
}

TEST(AgentE2E, BadConfigExitsNonZero) {
  AgentRun a(Env{{"SQUADBOX_AGENT_MODE", "exec"}});  // no command
  EXPECT_EQ(a.child->wait(10s), 2);
  EXPECT_NE(a.log().find("agent.config_invalid"), std::string::npos);
}

}  // namespace
