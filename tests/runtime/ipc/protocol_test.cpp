// Pure protocol and agent-turn rules: no files, no inotify.
#include "runtime/ipc/protocol.hpp"

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "runtime/agent/turn.hpp"

namespace {

using namespace sb::ipc;

TEST(IpcNames, FixedWidthAndSortedInWriteOrder) {
  EXPECT_EQ(make_name(1700000000123, 7), "1700000000123-000000007.json");
  Namer n;
  std::vector<std::string> names;
  // The clock steps back and stalls: names must still sort in write order.
  for (uint64_t ms : {5000u, 5000u, 4000u, 5001u, 999u, 10000u}) names.push_back(n.next(ms));
  for (int i = 0; i < 20; ++i) names.push_back(n.next(10000));
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  // Crossing a digit boundary keeps the order (fixed width).
  EXPECT_LT(make_name(999, 999999999), make_name(1000, 1));
  EXPECT_LT(make_name(1000, 9), make_name(1000, 10));
}

TEST(IpcNames, OnlyCompletedJsonIsAPayload) {
  EXPECT_TRUE(is_payload_name("1700000000123-000000007.json"));
  EXPECT_TRUE(is_payload_name("anything.json"));
  EXPECT_FALSE(is_payload_name("1700000000123-000000007.json.tmp"));
  EXPECT_FALSE(is_payload_name("_close"));
  EXPECT_FALSE(is_payload_name(".json"));
  EXPECT_FALSE(is_payload_name(".hidden.json"));
  EXPECT_FALSE(is_payload_name("x.json.reason"));
  EXPECT_FALSE(is_payload_name("a/b.json"));
}

TEST(IpcCodec, RoundTripsEveryPayload) {
  std::vector<Payload> all = {
      InputMessage{"in-1", "héllo \"q\"\n\t\\", "tg:42"},
      InputMessage{"x", "", std::nullopt},
      OutboundMessage{"reply", std::string("in-1"), std::string("slack:C1")},
      OutboundMessage{"unsolicited", std::nullopt, std::nullopt},
      TurnDone{"in-1", true, ""},
      TurnDone{"in-2", false, "command exited with status 3"},
      ScheduleTask{"check mail", "cron", "0 9 * * 1-5", "group", std::string("tg:42")},
      ScheduleTask{"ping", "interval", "60000", "isolated", std::nullopt},
      ScheduleTask{"once", "once", "2026-01-01T09:00:00Z", "isolated", std::nullopt},
      TaskControl{TaskControl::Op::pause, "t1"},
      TaskControl{TaskControl::Op::resume, "t1"},
      TaskControl{TaskControl::Op::cancel, "t1"},
      UpdateTask{"t1", std::string("new prompt"), std::nullopt, std::nullopt, std::nullopt},
      UpdateTask{"t1", std::nullopt, std::string("interval"), std::string("5000"), std::string("group")},
      RegisterGroup{"family", "tg:-100123", std::string("the family chat \"home\"")},
      RegisterGroup{"ops", "slack:C01234567", std::nullopt},
      ToolRefused{"bash", std::string("in-1")},
      ToolRefused{"write_file", std::nullopt},
      TurnDone{"in-3", false, "[squadbox] step limit (20) reached", false},
      Progress{"bash: exit code 0 (16 ms)", std::string("in-1")},
      Progress{"read_file: ok (1 ms)", std::nullopt},
  };
  for (const auto& p : all) {
    std::string json = encode(p);
    auto back = decode(box_of(p), json);
    ASSERT_TRUE(back.ok()) << json << ": " << back.error().message;
    EXPECT_EQ(back.value(), p) << json;
    EXPECT_EQ(type_name(back.value()), type_name(p));
  }
}

// A failed turn the agent says must not run again carries "retry": false; without the
// field (older agents, other agents) a failed turn may be retried.
TEST(IpcCodec, TurnDoneCarriesWhetherTheHostMayRetry) {
  TurnDone final_word{"7", false, "[squadbox] the model request failed: HTTP 401", false};
  const auto text = encode(final_word);
  EXPECT_NE(text.find(R"("retry":false)"), std::string::npos) << text;
  auto back = decode(Box::messages, text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_FALSE(std::get<TurnDone>(*back).retry);
  auto plain = decode(Box::messages, R"({"type":"turn_done","inReplyTo":"a","status":"error","error":"x"})");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(std::get<TurnDone>(*plain).retry);
  EXPECT_EQ(encode(TurnDone{"a", true, "", true}).find("retry"), std::string::npos);
}

TEST(IpcCodec, IgnoresUnknownFieldsAndNeverTakesIdentityFromPayload) {
  auto r = decode(Box::messages, R"({"type":"message","text":"hi","groupFolder":"main","isMain":true,"extra":[1]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(std::get<OutboundMessage>(r.value()).text, "hi");
}

std::string code_of(Box box, std::string_view json, size_t max = kDefaultMaxBytes) {
  auto r = decode(box, json, max);
  return r.ok() ? "ok" : r.error().code;
}

TEST(IpcCodec, ValidationErrors) {
  EXPECT_EQ(code_of(Box::messages, R"({"type":"message","text":"0123456789"})", 20), "ipc.oversized");
  EXPECT_EQ(code_of(Box::messages, "{bad"), "ipc.malformed");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"message","text":"a"} trailing)"), "ipc.malformed");
  EXPECT_EQ(code_of(Box::messages, "[1,2]"), "ipc.malformed");
  EXPECT_EQ(code_of(Box::messages, "\"str\""), "ipc.malformed");
  EXPECT_EQ(code_of(Box::messages, std::string("{\"type\":\"message\",\"text\":\"\xff\xfe\"}")), "ipc.malformed");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"register_group","name":"g","jid":"x"})"), "ipc.wrong_directory");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"unregister_group","name":"g"})"), "ipc.unknown_type");
  EXPECT_EQ(code_of(Box::messages, R"({"text":"no type"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":7})"), "ipc.invalid_field");
  // Wrong directory for the type.
  EXPECT_EQ(code_of(Box::messages, R"({"type":"cancel_task","taskId":"t"})"), "ipc.wrong_directory");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"message","text":"x"})"), "ipc.wrong_directory");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"turn_done","inReplyTo":"a","status":"ok"})"), "ipc.wrong_directory");
  EXPECT_EQ(code_of(Box::input, R"({"type":"turn_done","inReplyTo":"a","status":"ok"})"), "ipc.wrong_directory");
  EXPECT_EQ(code_of(Box::input, R"({"type":"schedule_task"})"), "ipc.wrong_directory");
  // Field rules.
  EXPECT_EQ(code_of(Box::input, R"({"type":"message","text":"no id"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::input, R"({"type":"message","id":"","text":"x"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::input, R"({"type":"message","id":")" + std::string(200, 'a') + R"(","text":"x"})"),
            "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"message","text":5})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"message"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"turn_done","inReplyTo":"a"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"turn_done","inReplyTo":"a","status":"maybe"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"turn_done","inReplyTo":"a","status":"error","retry":"no"})"),
            "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"progress","text":"two\nlines"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"progress","text":")" + std::string(600, 'x') + R"("})"),
            "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"progress"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"progress","text":"x"})"), "ipc.wrong_directory");
  EXPECT_EQ(
      code_of(Box::tasks, R"({"type":"schedule_task","prompt":"p","schedule_type":"weekly","schedule_value":"x"})"),
      "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks,
                    R"({"type":"schedule_task","prompt":"p","schedule_type":"interval","schedule_value":"soon"})"),
            "ipc.invalid_field");
  EXPECT_EQ(
      code_of(Box::tasks, R"({"type":"schedule_task","prompt":"p","schedule_type":"interval","schedule_value":"0"})"),
      "ipc.invalid_field");
  EXPECT_EQ(
      code_of(
          Box::tasks,
          R"({"type":"schedule_task","prompt":"p","schedule_type":"cron","schedule_value":"* * * * *","context_mode":"shared"})"),
      "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"pause_task"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"update_task","taskId":"t"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"update_task","taskId":"t","schedule_type":"cron"})"), "ipc.invalid_field");
  // And the good ones.
  EXPECT_EQ(code_of(Box::messages, R"({"type":"message","text":""})"), "ok");
  EXPECT_EQ(code_of(Box::tasks,
                    R"({"type":"schedule_task","prompt":"p","schedule_type":"cron","schedule_value":"* * * * *"})"),
            "ok");
}

TEST(IpcCodec, ToolRefusedFields) {
  auto r = decode(Box::messages, R"({"type":"tool_refused","tool":"bash","inReplyTo":"in-7"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(std::get<ToolRefused>(r.value()), (ToolRefused{"bash", std::string("in-7")}));
  EXPECT_EQ(box_of(r.value()), Box::messages);
  EXPECT_EQ(code_of(Box::messages, R"({"type":"tool_refused","tool":")" + std::string(64, 't') + R"("})"), "ok");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"tool_refused","tool":")" + std::string(65, 't') + R"("})"),
            "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"tool_refused"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"tool_refused","tool":""})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::messages, R"({"type":"tool_refused","tool":7})"), "ipc.invalid_field");
  EXPECT_EQ(
      code_of(Box::messages, R"({"type":"tool_refused","tool":"x","inReplyTo":")" + std::string(129, 'a') + R"("})"),
      "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"tool_refused","tool":"bash"})"), "ipc.wrong_directory");
  EXPECT_EQ(code_of(Box::input, R"({"type":"tool_refused","tool":"bash"})"), "ipc.wrong_directory");
}

TEST(IpcCodec, RegisterGroupFields) {
  auto r =
      decode(Box::tasks, R"({"type":"register_group","name":"family","jid":"tg:42","description":"d","isMain":true})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(std::get<RegisterGroup>(r.value()), (RegisterGroup{"family", "tg:42", std::string("d")}));
  EXPECT_EQ(type_name(r.value()), "register_group");
  EXPECT_EQ(box_of(r.value()), Box::tasks);
  EXPECT_EQ(encode(RegisterGroup{"g", "wa:1", std::nullopt}), R"({"type":"register_group","name":"g","jid":"wa:1"})");
  // null description = absent
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"register_group","name":"g","jid":"tg:1","description":null})"), "ok");
  // The name rule is a permission (runtime/ipc/ipc_permissions): a 65-char name decodes.
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"register_group","name":")" + std::string(65, 'a') + R"(","jid":"tg:1"})"),
            "ok");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"register_group","jid":"tg:1"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"register_group","name":"","jid":"tg:1"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"register_group","name":"g"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"register_group","name":"g","jid":""})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"register_group","name":7,"jid":"tg:1"})"), "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"register_group","name":"g","jid":"tg:1","description":[]})"),
            "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"register_group","name":")" + std::string(129, 'a') + R"(","jid":"tg:1"})"),
            "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"register_group","name":"g","jid":")" + std::string(129, '1') + R"("})"),
            "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::tasks, R"({"type":"register_group","name":"g","jid":"tg:1","description":")" +
                                    std::string(kMaxDescriptionBytes + 1, 'd') + R"("})"),
            "ipc.invalid_field");
  EXPECT_EQ(code_of(Box::input, R"({"type":"register_group","name":"g","jid":"tg:1"})"), "ipc.wrong_directory");
}

TEST(IpcCodec, ReasonLabels) {
  EXPECT_EQ(reason_label(sb::make_error("ipc.oversized", "")), "oversized");
  EXPECT_EQ(reason_label(sb::make_error("ipc.wrong_directory", "")), "wrong_directory");
  EXPECT_EQ(reason_label(sb::make_error("ipc.something_new", "")), "other");
  EXPECT_EQ(reason_label(sb::make_error("x", "")), "other");
}

// ---- agent turn logic -----------------------------------------------------------------
using namespace sb::agent;

sb::Result<Config> config_of(std::map<std::string, std::string> env, std::vector<std::string> args = {}) {
  return parse_config(
      [&](const char* k) -> const char* {
        auto it = env.find(k);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      args);
}

TEST(AgentConfig, DefaultsEnvAndArgs) {
  auto c = config_of({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ipc_dir, "/workspace/ipc");
  EXPECT_EQ(c->mode, Mode::echo);
  EXPECT_FALSE(c->prompt);
  EXPECT_FALSE(c->oneshot);

  c = config_of({{"SQUADBOX_IPC_DIR", "/x"},
                 {"SQUADBOX_AGENT_MODE", "exec"},
                 {"SQUADBOX_AGENT_COMMAND", R"(["/bin/sh","-c","tr a-z A-Z"])"},
                 {"SQUADBOX_AGENT_ONESHOT", "1"},
                 {"SQUADBOX_PROMPT", "from env"}},
                {"--", "hello", "world"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->ipc_dir, "/x");
  EXPECT_EQ(c->mode, Mode::exec);
  EXPECT_EQ(c->command, (std::vector<std::string>{"/bin/sh", "-c", "tr a-z A-Z"}));
  EXPECT_TRUE(c->oneshot);
  EXPECT_EQ(c->prompt, "hello world");  // args win over the env

  EXPECT_EQ(config_of({{"SQUADBOX_PROMPT", "p"}})->prompt, "p");
  EXPECT_FALSE(config_of({{"SQUADBOX_AGENT_MODE", "magic"}}).ok());
  EXPECT_FALSE(config_of({{"SQUADBOX_AGENT_MODE", "exec"}}).ok());
  EXPECT_FALSE(config_of({}, {"--verbose"}).ok());
  EXPECT_FALSE(config_of({{"SQUADBOX_IPC_MAX_BYTES", "12x"}}).ok());
  EXPECT_EQ(config_of({{"SQUADBOX_IPC_MAX_BYTES", "4096"}})->max_bytes, 4096u);
}

TEST(AgentConfig, CommandMustBeAnArrayOfStrings) {
  EXPECT_TRUE(parse_command(R"(["cat"])").ok());
  EXPECT_FALSE(parse_command(R"([])").ok());
  EXPECT_FALSE(parse_command(R"("cat")").ok());
  EXPECT_FALSE(parse_command(R"(["cat", 1])").ok());
  EXPECT_FALSE(parse_command(R"(["cat", ""])").ok());
  EXPECT_FALSE(parse_command("cat -n").ok());
}

TEST(AgentTurn, ReplyThenTurnDone) {
  InputMessage in{"id-1", "hi", std::string("tg:1")};
  auto out = turn_outputs(in, sb::Result<std::string>(std::string("hello")));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<OutboundMessage>(out[0]), (OutboundMessage{"hello", std::string("id-1"), std::string("tg:1")}));
  EXPECT_EQ(std::get<TurnDone>(out[1]), (TurnDone{"id-1", true, ""}));
}

TEST(AgentTurn, EmptyReplyOnlyTurnDone) {
  auto out = turn_outputs(InputMessage{"a", "x", std::nullopt}, sb::Result<std::string>(std::string()));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::get<TurnDone>(out[0]).ok);
}

TEST(AgentTurn, FailureAndOversizedReplyBecomeTurnDoneError) {
  auto out = turn_outputs(InputMessage{"a", "x", std::nullopt},
                          sb::Result<std::string>(sb::make_error("exec.failed", "exit 3")));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<TurnDone>(out[0]), (TurnDone{"a", false, "exit 3"}));

  out = turn_outputs(InputMessage{"a", "x", std::nullopt}, sb::Result<std::string>(std::string(5000, 'x')), 2048);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(std::get<TurnDone>(out[0]).ok);
}

// Found by fuzz/agent/agent_ipc_fuzz.cpp (fuzz/regressions/agent_ipc_fuzz/): whatever a
// command prints, the host must accept every file the agent writes for the turn.
TEST(AgentTurn, WhatTheAgentWritesPassesTheHostsChecks) {
  const InputMessage in{"id-1", "x", std::string("tg:1")};
  auto host_accepts = [](const std::vector<Payload>& out, std::size_t max_bytes) {
    for (const auto& p : out) {
      const std::string bytes = encode(p);
      EXPECT_LE(bytes.size(), max_bytes);
      EXPECT_TRUE(decode(box_of(p), bytes, max_bytes).ok()) << bytes.substr(0, 80);
    }
  };
  // Bad bytes on stdout or in an error become U+FFFD.
  auto out = turn_outputs(in, sb::Result<std::string>(std::string("ok \xff done")));
  host_accepts(out, kDefaultMaxBytes);
  EXPECT_EQ(std::get<OutboundMessage>(out[0]).text, "ok \xEF\xBF\xBD done");
  out = turn_outputs(in, sb::Result<std::string>(sb::make_error("exec.failed", "\x8b\x8d")));
  host_accepts(out, kDefaultMaxBytes);
  // An error is cut to fit by its encoding (a newline is two bytes in JSON) and on a
  // character boundary.
  out = turn_outputs(in, sb::Result<std::string>(sb::make_error("exec.failed", std::string(700, '\n'))), 1024);
  host_accepts(out, 1024);
  EXPECT_EQ(std::get<TurnDone>(out[0]).error.substr(0, 3), "\n\n\n");
  std::string euros;
  for (int i = 0; i < 400; ++i) euros += "\xE2\x82\xAC";
  out = turn_outputs(in, sb::Result<std::string>(sb::make_error("exec.failed", euros)), 1024);
  host_accepts(out, 1024);
  const std::string& cut = std::get<TurnDone>(out[0]).error;
  EXPECT_EQ(cut.size() % 3, 0u);  // whole characters, then the 3-byte ellipsis
  EXPECT_EQ(cut.substr(cut.size() - 3), "\xE2\x80\xA6");
}

TEST(AgentTurn, StdoutLosesOneTrailingNewline) {
  EXPECT_EQ(reply_from_stdout("HI\n"), "HI");
  EXPECT_EQ(reply_from_stdout("HI\n\n"), "HI\n");
  EXPECT_EQ(reply_from_stdout("HI"), "HI");
  EXPECT_EQ(reply_from_stdout(""), "");
}

}  // namespace
