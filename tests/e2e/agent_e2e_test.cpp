// Issue 15 end to end: the built-in agent's tool loop in real crun containers, driven by
// a scripted fake model behind the real credential proxy (TLS on loopback, test CA).
// One node serves the suite; each namespace has its own agent settings:
//   boss     main, Anthropic Messages (route "claude", a real key in the vault), all tools
//   reader   not main (read-only workspace), OpenAI Chat Completions (keyless route "local")
//   limited  Anthropic, only read_file, at most 2 steps
//   flaky    OpenAI, for upstream errors
//   debian   OpenAI, in a Debian image with python3 (`squadbox image build --debian`,
//            built in the background while the other tests run)
// A Slack DM goes in; the model asks for tools; they run in the container; the results
// reach the model; the final answer reaches the fake Slack API. The scripts check what
// the model is sent, so a missing tool result or a wrong tool list fails the test.
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "tests/e2e/e2e_node.hpp"
#include "tests/e2e/fake_platform.hpp"
#include "tests/support/scripted_model.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::test::e2e {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBossDm = "D0BOSS";
constexpr const char* kReaderDm = "D0READER";
constexpr const char* kLimitedDm = "D0LIMITED";
constexpr const char* kFlakyDm = "D0FLAKY";
constexpr const char* kDebianDm = "D0DEBIAN";
constexpr const char* kRealKey = "sk-ant-e2e-REAL-7f3a9c1e5b2d4068";
constexpr auto kTurnTimeout = 90s;

const std::vector<std::string> kAllTools = {"bash",       "read_file",    "write_file",    "edit_file",
                                            "list_files", "send_message", "schedule_task", "list_tasks",
                                            "pause_task", "resume_task",  "cancel_task"};

std::string slack_chat(const char* dm) {
  return std::string("slack:") + dm;
}

// A check on one tool result: present, an error (Anthropic says so), and without `absent`.
StepCheck expect_refused(std::string id, std::string absent) {
  return [=](const RecordedRequest&, const rapidjson::Document& d, ModelProtocol p) -> std::string {
    auto r = tool_result(d, p, id);
    if (!r) return "no result for " + id;
    if (p == ModelProtocol::anthropic && !r->is_error) return id + " was not an error: " + r->content;
    if (r->content.find(absent) != std::string::npos) return id + " leaked \"" + absent + "\": " + r->content;
    return "";
  };
}

class AgentLoop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    ASSERT_EQ(std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null"), 0);
    dir_ = std::make_unique<TempDir>("squadbox-agent-e2e");
    fs::create_directories(dir_->file("pki"));
    pki_ = std::make_unique<TestPki>(TestPki::generate(dir_->file("pki")));
    FakeUpstreamOptions tls{.tls = true, .cert_file = pki_->cert_file, .key_file = pki_->key_file};
    claude_ = std::make_unique<ScriptedModel>(ModelProtocol::anthropic, tls);
    local_ = std::make_unique<ScriptedModel>(ModelProtocol::openai, tls);
    platform_ = std::make_unique<FakePlatform>();
    NodeSettings settings;
    settings.platform_url = platform_->url();
    settings.secrets = {{"anthropic-key", kRealKey}};
    settings.extra_config = routes_config();
    node_ = std::make_unique<E2ENode>(dir_->path(), settings);
    ASSERT_EQ(node_->prepare(), "");
    ASSERT_EQ(node_->start(), "");
    debian_build_ = std::make_unique<ChildProcess>(node_->exe(),
                                                   std::vector<std::string>{"image", "build", "--debian", "--packages",
                                                                            "python3", "--data-dir", node_->data_dir()},
                                                   std::map<std::string, std::string>{}, dir_->file("debian-build"));

    // boss is created first: the main namespace.
    for (const char* ns : {"boss", "reader", "limited", "flaky", "debian"}) {
      auto r = node_->admin("POST", "/api/v1/container/namespaces",
                            std::string(R"({"name":")") + ns + R"(","description":"agent e2e"})");
      ASSERT_TRUE(r.ok()) << r.error().message;
      ASSERT_EQ(r->status, 201) << r->body;
    }
    set_agent("boss", R"({"mode":"llm","route":"claude","protocol":"anthropic","model":"claude-test"})");
    set_agent("reader", R"({"mode":"llm","route":"local","protocol":"openai","model":"qwen2.5"})");
    set_agent("limited",
              R"({"mode":"llm","route":"claude","protocol":"anthropic","model":"claude-test","tools":["read_file"],)"
              R"("maxSteps":2})");
    set_agent("flaky", R"({"mode":"llm","route":"local","protocol":"openai","model":"qwen2.5"})");
    set_agent("debian", R"({"mode":"llm","route":"local","protocol":"openai","model":"qwen2.5"})");
    auto image = node_->admin("PATCH", "/api/v1/container/namespaces/debian",
                              R"({"containerConfig":{"image":"squadbox-debian:latest"}})");
    ASSERT_TRUE(image.ok()) << image.error().message;
    ASSERT_EQ(image->status, 200) << image->body;
    for (const auto& [dm, ns] : std::vector<std::pair<const char*, const char*>>{{kBossDm, "boss"},
                                                                                 {kReaderDm, "reader"},
                                                                                 {kLimitedDm, "limited"},
                                                                                 {kFlakyDm, "flaky"},
                                                                                 {kDebianDm, "debian"}}) {
      auto r = node_->admin("POST", "/api/v1/container/mappings",
                            R"({"jid":")" + slack_chat(dm) + R"(","namespace":")" + ns + R"("})");
      ASSERT_TRUE(r.ok()) << r.error().message;
      ASSERT_EQ(r->status, 201) << r->body;
    }
  }

  static std::string routes_config() {
    return "[proxy]\nca_file = \"" + pki_->ca_file + "\"\n" +
           "[proxy.routes.claude]\nupstream = \"https://localhost:" + std::to_string(claude_->port()) +
           "\"\nheader = \"x-api-key\"\nsecret = \"anthropic-key\"\n" +
           "[proxy.routes.local]\nupstream = \"https://localhost:" + std::to_string(local_->port()) +
           "\"\nheader = \"authorization\"\n";
  }

  static void set_agent(const std::string& ns, const std::string& agent_json) {
    auto r = node_->admin("PATCH", "/api/v1/container/namespaces/" + ns, R"({"agent":)" + agent_json + "}");
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->status, 200) << r->body;
  }

  static void TearDownTestSuite() {
    if (node_) {
      EXPECT_EQ(node_->stop(), 0) << "serve did not stop cleanly";
    }
    if (platform_)
      for (const auto& v : platform_->violations()) ADD_FAILURE() << "fake platform contract violation: " << v;
    debian_build_.reset();
    node_.reset();
    claude_.reset();
    local_.reset();
    platform_.reset();
    pki_.reset();
    dir_.reset();
  }

  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the agent end-to-end tests run real crun containers: they need root";
    ASSERT_TRUE(node_ && node_->process()) << "the node did not start (see the suite set-up)";
  }
  void TearDown() override {
    for (auto* m : {claude_.get(), local_.get()}) {
      for (const auto& v : m->violations()) ADD_FAILURE() << "model script: " << v;
      if (HasFailure())
        for (const auto& b : m->bodies())
          std::cerr << "---- model request (tail) ----\n" << (b.size() > 3000 ? b.substr(b.size() - 3000) : b) << "\n";
      EXPECT_TRUE(m->script_done()) << "the model was not asked everything the script expected (requests answered: "
                                    << m->answered() << ")";
    }
    if (HasFailure() && node_) {
      auto log = node_->log();
      std::cerr << "---- serve log (tail) ----\n"
                << (log.size() > 30000 ? log.substr(log.size() - 30000) : log) << "\n";
    }
    // The next test starts from a clean script (a failed one may have left steps).
    claude_->reset();
    local_->reset();
  }

  static std::string post_dm(const char* dm, const std::string& text) {
    auto r = node_->post(slack_message("main", dm, "U0HUMAN01", text, true));
    if (!r) return "post: " + r.error().message;
    return r->status == 200 ? "" : "status " + std::to_string(r->status) + ": " + r->body;
  }
  static bool wait_reply(const char* dm, const std::string& needle, std::chrono::milliseconds t = kTurnTimeout) {
    return wait_until(
        [&] {
          for (const auto& r : platform_->replies_to(slack_chat(dm)))
            if (r.text.find(needle) != std::string::npos) return true;
          return false;
        },
        t);
  }
  static size_t replies_with(const char* dm, const std::string& needle) {
    size_t n = 0;
    for (const auto& r : platform_->replies_to(slack_chat(dm))) n += r.text.find(needle) != std::string::npos;
    return n;
  }
  static std::string workspace(const std::string& ns) { return node_->data_dir() + "/workspaces/" + ns; }
  static std::string unique(const std::string& prefix) { return prefix + "-" + std::to_string(next_seq()); }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<TestPki> pki_;
  static inline std::unique_ptr<ScriptedModel> claude_;
  static inline std::unique_ptr<ScriptedModel> local_;
  static inline std::unique_ptr<FakePlatform> platform_;
  static inline std::unique_ptr<E2ENode> node_;
  static inline std::unique_ptr<ChildProcess> debian_build_;
};

// ---- the loop ----------------------------------------------------------------------

TEST_F(AgentLoop, BashRunsInTheContainerAndItsResultReachesTheModel) {
  const std::string marker = unique("noted");
  claude_->push({expect_tools(kAllTools), anthropic_tool_use({{"t1", "bash", R"({"command":"echo hi > note.txt"})"}})});
  claude_->push({expect_tool_result("t1", "exit code 0", false), anthropic_text("I wrote it down: " + marker)});
  ASSERT_EQ(post_dm(kBossDm, "please note that hi"), "");
  ASSERT_TRUE(wait_reply(kBossDm, marker)) << "no final answer";
  EXPECT_EQ(read_file(workspace("boss") + "/note.txt"), "hi\n");
  // Only the final answer reaches the chat: no tool chatter.
  for (const auto& r : platform_->replies_to(slack_chat(kBossDm)))
    EXPECT_EQ(r.text.find("exit code"), std::string::npos);
}

TEST_F(AgentLoop, TheMainGroupsModelIsCalledWithTheRealKeyAndNeverSeesIt) {
  claude_->push({[](const RecordedRequest& r, const rapidjson::Document&, ModelProtocol) -> std::string {
                   if (r.header("x-api-key").value_or("") != kRealKey) return "the real key was not injected";
                   if (r.header("authorization")) return "an Authorization header reached the upstream";
                   return "";
                 },
                 anthropic_text("key ok")});
  ASSERT_EQ(post_dm(kBossDm, "ping"), "");
  ASSERT_TRUE(wait_reply(kBossDm, "key ok"));
}

TEST_F(AgentLoop, HistoryKeepsToolCallsAndResultsAcrossTurns) {
  const std::string first = unique("first-result");
  claude_->push({{}, anthropic_tool_use({{"h1", "bash", R"({"command":"echo )" + first + R"("})"}})});
  claude_->push({expect_tool_result("h1", first), anthropic_text("turn one done")});
  const size_t connections = claude_->upstream().connection_count();
  ASSERT_EQ(post_dm(kBossDm, "turn one"), "");
  ASSERT_TRUE(wait_reply(kBossDm, "turn one done"));
  // The turn's two model calls shared one kept-alive connection (agent -> proxy ->
  // model): a step costs no new TLS handshake with the model's API.
  EXPECT_EQ(claude_->upstream().connection_count() - connections, 1u);
  // The second turn's request carries the first turn's call and result, in order.
  claude_->push({all_of({expect_tool_result("h1", first), expect_text("turn one done"), expect_text("turn two")}),
                 anthropic_text("turn two done")});
  ASSERT_EQ(post_dm(kBossDm, "turn two"), "");
  ASSERT_TRUE(wait_reply(kBossDm, "turn two done"));
}

TEST_F(AgentLoop, ANonMainGroupGetsAReadOnlyErrorFromItsWorkspace) {
  local_->push(
      {expect_tools(kAllTools), openai_tool_calls({{"w1", "write_file", R"({"path":"x.txt","content":"no"})"}})});
  local_->push({expect_tool_result("w1", "read-only"), openai_text("could not write")});
  ASSERT_EQ(post_dm(kReaderDm, "write x"), "");
  ASSERT_TRUE(wait_reply(kReaderDm, "could not write"));
  EXPECT_FALSE(fs::exists(workspace("reader") + "/x.txt"));
}

TEST_F(AgentLoop, ParallelToolCallsAreAllAnsweredAndErrorsAreResults) {
  local_->push({{},
                openai_tool_calls({{"p1", "read_file", R"({"path":"missing.txt"})"},
                                   {"p2", "bash", R"({"command":"echo parallel; exit 3"})"},
                                   {"p3", "list_files", "{}"}})});
  local_->push({all_of({expect_tool_result("p1", "missing.txt"), expect_tool_result("p2", "parallel"),
                        expect_tool_result("p2", "exit code 3"), expect_tool_result("p3", "")}),
                openai_text("three answered")});
  ASSERT_EQ(post_dm(kReaderDm, "do three things"), "");
  ASSERT_TRUE(wait_reply(kReaderDm, "three answered"));
}

TEST_F(AgentLoop, PathsThatLeaveTheWorkspaceAreRefusedByEveryFileTool) {
  claude_->push({{}, anthropic_tool_use({{"e0", "bash", R"({"command":"ln -s /etc outlink && echo linked"})"}})});
  claude_->push({expect_tool_result("e0", "linked"),
                 anthropic_tool_use({{"e1", "read_file", R"({"path":"../../etc/passwd"})"},
                                     {"e2", "read_file", R"({"path":"/etc/passwd"})"},
                                     {"e3", "read_file", R"({"path":"outlink/passwd"})"},
                                     {"e4", "write_file", R"({"path":"outlink/evil","content":"x"})"},
                                     {"e5", "edit_file", R"({"path":"../x","old_string":"a","new_string":"b"})"},
                                     {"e6", "list_files", R"({"pattern":"outlink/*"})"}})});
  claude_->push({all_of({expect_refused("e1", "root:"), expect_refused("e2", "root:"), expect_refused("e3", "root:"),
                         expect_refused("e4", "root:"), expect_refused("e5", "root:"),
                         [](const RecordedRequest&, const rapidjson::Document& d, ModelProtocol p) -> std::string {
                           auto r = tool_result(d, p, "e6");
                           if (!r) return "no result for e6";
                           return r->content.find("passwd") == std::string::npos ? "" : "list_files followed outlink";
                         }}),
                 anthropic_text("escapes refused")});
  ASSERT_EQ(post_dm(kBossDm, "try to escape"), "");
  ASSERT_TRUE(wait_reply(kBossDm, "escapes refused"));
}

TEST_F(AgentLoop, ARunawayBashIsKilledWithItsChildrenAtTheTimeout) {
  claude_->push({{},
                 anthropic_tool_use(
                     {{"k1", "bash", R"({"command":"sleep 300 & echo $! > bg.pid; sleep 300","timeout_ms":1500})"}})});
  claude_->push(
      {expect_tool_result("k1", "timeout"),
       anthropic_tool_use(
           {{"k2", "bash",
             R"({"command":"if kill -0 $(cat bg.pid) 2>/dev/null; then echo ALIVE; else echo GONE; fi"})"}})});
  claude_->push({expect_tool_result("k2", "GONE"), anthropic_text("runaway stopped")});
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(post_dm(kBossDm, "run forever"), "");
  ASSERT_TRUE(wait_reply(kBossDm, "runaway stopped"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 60s);
}

TEST_F(AgentLoop, LongToolOutputIsTruncatedWithAMarker) {
  claude_->push({{}, anthropic_tool_use({{"o1", "bash", R"({"command":"head -c 100000 /dev/zero | tr '\\0' x"})"}})});
  claude_->push({[](const RecordedRequest&, const rapidjson::Document& d, ModelProtocol p) -> std::string {
                   auto r = tool_result(d, p, "o1");
                   if (!r) return "no result for o1";
                   if (r->content.find("truncated") == std::string::npos) return "no truncation marker";
                   if (r->content.size() > 32768 + 512)
                     return "result of " + std::to_string(r->content.size()) + " bytes";
                   return "";
                 },
                 anthropic_text("long output seen")});
  ASSERT_EQ(post_dm(kBossDm, "print a lot"), "");
  ASSERT_TRUE(wait_reply(kBossDm, "long output seen"));
}

// ---- limits and permissions -------------------------------------------------------

TEST_F(AgentLoop, ADisabledToolIsNotOfferedAndACallToItIsRefusedAndAudited) {
  claude_->push({all_of({expect_tools({"read_file"}), expect_no_tool("bash"), expect_no_tool("write_file")}),
                 anthropic_tool_use({{"d1", "bash", R"({"command":"id"})"}})});
  claude_->push({expect_tool_result("d1", "not enabled", true), anthropic_text("bash is off here")});
  ASSERT_EQ(post_dm(kLimitedDm, "run id"), "");
  ASSERT_TRUE(wait_reply(kLimitedDm, "bash is off here"));
  EXPECT_TRUE(wait_until(
      [] {
        return node_->query(
                   "SELECT count(*) FROM audit_log WHERE event LIKE '%tool_refused%' AND detail LIKE "
                   "'%bash%'") != "0";
      },
      20s))
      << "the refused call is not in the audit log";
}

TEST_F(AgentLoop, TheStepLimitEndsTheTurnWithOneLine) {
  claude_->push({{}, anthropic_tool_use({{"s1", "read_file", R"({"path":"a.txt"})"}})});
  claude_->push({{}, anthropic_tool_use({{"s2", "read_file", R"({"path":"b.txt"})"}})});
  ASSERT_EQ(post_dm(kLimitedDm, "loop forever"), "");
  ASSERT_TRUE(wait_reply(kLimitedDm, "step limit"));
  EXPECT_EQ(replies_with(kLimitedDm, "step limit"), 1u);
}

TEST_F(AgentLoop, SendMessageToAChatTheGroupMayNotAddressIsRefusedByTheHost) {
  const std::string leak = unique("leak");
  local_->push({{},
                openai_tool_calls(
                    {{"m1", "send_message", R"({"text":")" + leak + R"(","chat_jid":"slack:)" + kBossDm + R"("})"}})});
  local_->push({expect_tool_result("m1", ""), openai_text("tried to leak")});
  ASSERT_EQ(post_dm(kReaderDm, "message the boss"), "");
  // The agent wrote send_message before turn_done, and the host reads messages/ in
  // order: when the final answer is out, the refused message was decided.
  ASSERT_TRUE(wait_reply(kReaderDm, "tried to leak"));
  EXPECT_EQ(replies_with(kBossDm, leak), 0u);
  EXPECT_EQ(replies_with(kReaderDm, leak), 0u);
}

TEST_F(AgentLoop, SendMessageToItsOwnChatArrivesBeforeTheFinalAnswer) {
  const std::string note = unique("progress");
  claude_->push({{}, anthropic_tool_use({{"n1", "send_message", R"({"text":")" + note + R"("})"}})});
  claude_->push({expect_tool_result("n1", ""), anthropic_text("done after progress")});
  ASSERT_EQ(post_dm(kBossDm, "report progress"), "");
  ASSERT_TRUE(wait_reply(kBossDm, "done after progress"));
  EXPECT_EQ(replies_with(kBossDm, note), 1u);
}

TEST_F(AgentLoop, ScheduleTaskCreatesATaskThatTheSchedulerRuns) {
  const std::string marker = unique("scheduled-prompt");
  const std::time_t at = std::time(nullptr) + 3;
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&at));
  claude_->push({expect_tools({"schedule_task"}),
                 anthropic_tool_use({{"c1", "schedule_task",
                                      R"({"prompt":")" + marker + R"(","schedule_type":"once","schedule_value":")" +
                                          when + R"("})"}})});
  claude_->push({{}, anthropic_text("task scheduled")});
  // The scheduled run is its own container with the same agent: it asks the model too.
  claude_->push({expect_text(marker), anthropic_text("the task ran: " + marker)});
  ASSERT_EQ(post_dm(kBossDm, "remind me"), "");
  ASSERT_TRUE(wait_reply(kBossDm, "task scheduled"));
  EXPECT_NE(node_->query("SELECT count(*) FROM scheduled_tasks WHERE prompt = ?", marker), "0");
  ASSERT_TRUE(wait_reply(kBossDm, "the task ran: " + marker)) << "the scheduler did not run the task";
}

// ---- upstream failures ------------------------------------------------------------

TEST_F(AgentLoop, AnUpstream429IsRetriedAndTheTurnSucceeds) {
  auto busy = error_reply(ModelProtocol::openai, 429, "rate_limit_error", "slow down");
  busy.headers.emplace_back("Retry-After", "1");
  local_->push({{}, busy});
  local_->push({expect_text("after a pause"), openai_text("answered after 429")});
  ASSERT_EQ(post_dm(kFlakyDm, "after a pause"), "");
  ASSERT_TRUE(wait_reply(kFlakyDm, "answered after 429"));
}

TEST_F(AgentLoop, AnUpstream401GivesTheChatOneShortLine) {
  local_->push({{}, error_reply(ModelProtocol::openai, 401, "invalid_request_error", "Incorrect API key provided")});
  ASSERT_EQ(post_dm(kFlakyDm, "are you there"), "");
  ASSERT_TRUE(wait_reply(kFlakyDm, "401"));
  // The turn is given up (not retried) once its row ends 'dropped': only then is it sure
  // no second attempt can add a line.
  ASSERT_TRUE(wait_until(
      [] {
        return node_->query("SELECT state FROM inbound_messages WHERE text = ? ORDER BY id DESC LIMIT 1",
                            std::string("are you there")) == "dropped";
      },
      20s));
  size_t lines = 0;
  for (const auto& r : platform_->replies_to(slack_chat(kFlakyDm))) {
    if (r.text.find("401") == std::string::npos) continue;
    ++lines;
    EXPECT_EQ(r.text.find('\n'), std::string::npos) << "more than one line: " << r.text;
    EXPECT_LT(r.text.size(), 300u) << r.text;
    EXPECT_EQ(r.text.find("are you there"), std::string::npos) << "the request leaked into the chat";
  }
  EXPECT_EQ(lines, 1u);
}

// ---- what the agent can reach -----------------------------------------------------

TEST_F(AgentLoop, FromBashTheRealKeyIsNowhereAndOnlyTheProxyIsReachable) {
  // The key in two halves: the command line and the history hold the halves, never the key.
  const std::string k = kRealKey;
  const std::string half1 = k.substr(0, k.size() / 2), half2 = k.substr(k.size() / 2);
  const std::string scan = "K1='" + half1 + "'; K2='" + half2 +
                           "'; K=\"$K1$K2\"; F=0; "
                           "for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do grep -qsF \"$K\" $f && F=1; done; "
                           "env | grep -qF \"$K\" && F=1; "
                           "for d in /bin /etc /tmp /workspace /session /root /home /var /usr /opt; do "
                           "[ -d $d ] && grep -rqsF \"$K\" $d && F=1; done; echo found=$F";
  const std::string net =
      "wget -q -T 3 -O /dev/null http://10.0.0.1/ 2>/dev/null && echo OUT-REACHED || echo out-blocked; "
      "printf 'GET /claude/v1/models HTTP/1.0\\r\\n\\r\\n' | nc -w 3 127.0.0.1 ${SQUADBOX_PROXY_PORT:-3001} | "
      "head -c 200; "
      "echo; echo proxy-tried";
  claude_->push({{},
                 anthropic_tool_use({{"x1", "bash", R"({"command":)" + json_quote(scan) + "}"},
                                     {"x2", "bash", R"({"command":)" + json_quote(net) + "}"}})});
  claude_->push({all_of({expect_tool_result("x1", "found=0"), expect_tool_result("x2", "out-blocked"),
                         expect_tool_result("x2", "proxy-tried"),
                         expect_tool_result("x2", "401"),  // the bridge answers: no token, no entry
                         [](const RecordedRequest&, const rapidjson::Document& d, ModelProtocol p) -> std::string {
                           auto r = tool_result(d, p, "x1");
                           return r && r->content.find(kRealKey) == std::string::npos ? ""
                                                                                      : "the key reached the model";
                         }}),
                 anthropic_text("sandbox checked")});
  ASSERT_EQ(post_dm(kBossDm, "look around"), "");
  ASSERT_TRUE(wait_reply(kBossDm, "sandbox checked"));
}

// ---- cowork -----------------------------------------------------------------------

TEST_F(AgentLoop, CoworkWithTheLlmAgentEditsAFileAndExitsZero) {
  const std::string ws = dir_->file("cowork-ws");
  fs::create_directories(ws);
  ChildProcess build(node_->exe(), {"image", "build", "--data-dir", dir_->file("cowork-data")}, {},
                     dir_->file("cowork-image"));
  ASSERT_EQ(build.wait(120s), 0) << build.stderr_text();
  std::ofstream(ws + "/doc.txt") << "a draft version\n";
  // An operator's folder (root's would not be mapped into the container: never root).
  ASSERT_EQ(::chown(ws.c_str(), 4242, 4242), 0);
  ASSERT_EQ(::chown((ws + "/doc.txt").c_str(), 4242, 4242), 0);
  local_->push(
      {{},
       openai_tool_calls({{"w1", "edit_file", R"({"path":"doc.txt","old_string":"draft","new_string":"final"})"}})});
  local_->push({expect_tool_result("w1", ""), openai_text("edited the doc")});
  ChildProcess cowork(
      node_->exe(),
      {"cowork", "--config", node_->config_path(), "--data-dir", dir_->file("cowork-data"), "--workspace", ws,
       "--route", "local", "--protocol", "openai", "--model", "qwen2.5", "--", "make it final"},
      {}, dir_->file("cowork-run"));
  ASSERT_EQ(cowork.wait(120s), 0) << cowork.stderr_text();
  EXPECT_NE(cowork.stdout_text().find("edited the doc"), std::string::npos) << cowork.stdout_text();
  // Progress on the terminal while the turn ran: one line per tool call, on stderr.
  EXPECT_NE(cowork.stderr_text().find("edit_file: ok ("), std::string::npos) << cowork.stderr_text();
  EXPECT_EQ(cowork.stdout_text().find("edit_file:"), std::string::npos) << "progress mixed into the answer";
  EXPECT_EQ(read_file(ws + "/doc.txt"), "a final version\n");
}

TEST_F(AgentLoop, CoworkExitsNonZeroWithTheReasonWhenTheModelFails) {
  const std::string ws = dir_->file("cowork-ws2");
  fs::create_directories(ws);
  local_->push({{}, error_reply(ModelProtocol::openai, 401, "invalid_request_error", "no key")});
  ChildProcess cowork(
      node_->exe(),
      {"cowork", "--config", node_->config_path(), "--data-dir", dir_->file("cowork-data"), "--workspace", ws,
       "--route", "local", "--protocol", "openai", "--model", "qwen2.5", "--", "anything"},
      {}, dir_->file("cowork-run2"));
  auto code = cowork.wait(120s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(cowork.stderr_text().find("401"), std::string::npos) << cowork.stderr_text();
}

// ---- an environment worth acting in ------------------------------------------------

// Last: the Debian image has been building since the suite started.
TEST_F(AgentLoop, ZzInADebianImageTheBashToolRunsPython) {
  ASSERT_TRUE(debian_build_);
  const auto code = debian_build_->wait(600s);
  // The one outside service this suite needs is the Debian mirror. When it refuses the
  // downloads (seen in two CI runs here: "apt download failed" on every attempt) the
  // image cannot be made, which says nothing about squadbox: skipped, with the reason.
  // Any other failure of the build fails the test.
  if (code != 0 && debian_build_->stderr_text().find("apt download failed") != std::string::npos)
    GTEST_SKIP() << "the Debian mirror refused the downloads: " << debian_build_->stderr_text().substr(0, 300);
  ASSERT_EQ(code, 0) << "squadbox image build --debian failed: " << debian_build_->stderr_text();
  local_->push({{}, openai_tool_calls({{"py1", "bash", R"({"command":"python3 -c 'print(6 * 7)'"})"}})});
  local_->push({expect_tool_result("py1", "42"), openai_text("python says 42")});
  ASSERT_EQ(post_dm(kDebianDm, "ask python"), "");
  ASSERT_TRUE(wait_reply(kDebianDm, "python says 42"));
}

}  // namespace
}  // namespace sb::test::e2e
