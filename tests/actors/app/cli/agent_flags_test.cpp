// The agent flags of `ns set` and `cowork`: the bodies they send, and usage errors that
// name the flag before anything is sent.
#include "actors/app/cli/agent_flags.hpp"

#include <gtest/gtest.h>

namespace {

using sb::app::cli::agent_patch_body;
using sb::app::cli::AgentFlags;
using sb::app::cli::cowork_agent_settings;
using sb::app::cli::CoworkAgentFlags;
using sb::app::cli::instructions_patch_body;
using sb::namespaces::AgentMode;

TEST(AgentFlags, NsSetSendsOnlyTheFlagsGiven) {
  AgentFlags f;
  f.mode = "llm";
  f.route = "local";
  f.protocol = "openai";
  f.model = "qwen2.5";
  f.max_tokens = "1024";
  f.max_steps = "default";
  f.tools = "read_file, bash";
  auto body = agent_patch_body(f);
  ASSERT_TRUE(body) << body.error().message;
  EXPECT_EQ(*body, R"({"agent":{"mode":"llm","route":"local","protocol":"openai","model":"qwen2.5",)"
                   R"("maxTokens":1024,"maxSteps":null,"tools":["read_file","bash"]}})");

  AgentFlags exec;
  exec.mode = "exec";
  exec.command = R"(["python3","/workspace/agent.py"])";
  exec.tools = "none";
  EXPECT_EQ(*agent_patch_body(exec),
            R"({"agent":{"mode":"exec","tools":[],"command":["python3","/workspace/agent.py"]}})");
  AgentFlags all;
  all.tools = "all";
  EXPECT_NE(agent_patch_body(all)->find(R"("tools":["bash","read_file",)"), std::string::npos);
  AgentFlags reset;
  reset.tools = "default";
  reset.command = "default";
  EXPECT_EQ(*agent_patch_body(reset), R"({"agent":{"tools":null,"command":null}})");
}

TEST(AgentFlags, BadFlagsAreUsageErrorsNamingTheFlag) {
  auto error_of = [](AgentFlags f) {
    auto body = agent_patch_body(f);
    EXPECT_FALSE(body);
    return body ? std::string() : body.error().code + " " + body.error().message;
  };
  EXPECT_TRUE(error_of({}).starts_with("cli.usage nothing to set")) << error_of({});
  AgentFlags f;
  f.max_steps = "many";
  EXPECT_TRUE(error_of(f).starts_with("cli.usage --max-steps: many is not an integer")) << error_of(f);
  f.max_steps = "500";
  EXPECT_EQ(error_of(f), "cli.usage --max-steps: must be an integer from 1 to 200");
  f = {};
  f.tools = "bash,telnet";
  EXPECT_TRUE(error_of(f).starts_with("cli.usage --tools: unknown tool telnet")) << error_of(f);
  f.tools = "bash,bash";
  EXPECT_TRUE(error_of(f).starts_with("cli.usage --tools: duplicate tool bash")) << error_of(f);
  f = {};
  f.command = "python3 agent.py";
  EXPECT_TRUE(error_of(f).starts_with("cli.usage --command: must be a JSON array")) << error_of(f);
  f.command = "[]";
  EXPECT_TRUE(error_of(f).starts_with("cli.usage --command: must be a non-empty array")) << error_of(f);
  f = {};
  f.route = "no/slash";
  EXPECT_TRUE(error_of(f).starts_with("cli.usage --route: ")) << error_of(f);
}

TEST(AgentFlags, InstructionsAreSetOrCleared) {
  EXPECT_EQ(*instructions_patch_body(std::string("Be \"brief\".\n")),
            R"({"agent":{"instructions":"Be \"brief\".\n"}})");
  EXPECT_EQ(*instructions_patch_body(std::nullopt), R"({"agent":{"instructions":null}})");
  auto big = instructions_patch_body(std::string(64 * 1024 + 1, 'x'));
  ASSERT_FALSE(big);
  EXPECT_TRUE(big.error().message.starts_with("--file: longer than 65536 bytes")) << big.error().message;
}

TEST(AgentFlags, CoworkRouteImpliesTheLlmMode) {
  auto none = cowork_agent_settings({});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->mode) << "nothing given: the node's mode";
  auto routed = cowork_agent_settings({"", "local", "openai", "qwen2.5"});
  ASSERT_TRUE(routed) << routed.error().message;
  EXPECT_EQ(routed->mode, AgentMode::llm);
  EXPECT_EQ(routed->route, "local");
  EXPECT_EQ(routed->protocol, sb::namespaces::LlmProtocol::openai);
  EXPECT_EQ(routed->model, "qwen2.5");
  EXPECT_EQ(cowork_agent_settings({"exec", "", "", ""})->mode, AgentMode::exec);
  auto clash = cowork_agent_settings({"echo", "local", "", ""});
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, "cli.usage");
  auto bad = cowork_agent_settings({"", "", "grpc", ""});
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with("--protocol: ")) << bad.error().message;
}

}  // namespace
