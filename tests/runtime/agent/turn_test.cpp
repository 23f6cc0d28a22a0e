// The agent's env parsing for llm mode and the proxy bridge.
#include "runtime/agent/turn.hpp"

#include <map>

#include <gtest/gtest.h>

#include "runtime/agent/tool_spec.hpp"

namespace {

using namespace sb::agent;
using Env = std::map<std::string, std::string>;

sb::Result<Config> parse(const Env& env) {
  return parse_config(
      [&](const char* k) -> const char* {
        auto it = env.find(k);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      {});
}

const Env kLlm = {{"SQUADBOX_AGENT_MODE", "llm"},
                  {"SQUADBOX_PROXY_SOCKET", "/workspace/ipc/proxy.sock"},
                  {"SQUADBOX_PROXY_TOKEN", "sbp_0123abcd"}};

Env with(Env e, const std::string& k, const std::string& v) {
  e[k] = v;
  return e;
}

TEST(AgentConfig, LlmDefaults) {
  auto c = parse(kLlm);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->mode, Mode::llm);
  EXPECT_EQ(mode_name(c->mode), "llm");
  EXPECT_EQ(c->llm.route, "anthropic");
  EXPECT_EQ(c->llm.model, "claude-sonnet-4-5");
  EXPECT_EQ(c->llm.max_tokens, 1024);
  EXPECT_EQ(c->llm.session_dir, "/session");
  EXPECT_EQ(c->llm.instructions_file, std::nullopt);
  EXPECT_EQ(c->proxy.socket, "/workspace/ipc/proxy.sock");
  EXPECT_EQ(c->proxy.token, "sbp_0123abcd");
  EXPECT_EQ(c->proxy.port, std::nullopt);  // no bridge unless a port is given
}

TEST(AgentConfig, LlmOverrides) {
  Env e = kLlm;
  e["SQUADBOX_LLM_ROUTE"] = "claude.eu-1";
  e["SQUADBOX_LLM_MODEL"] = "claude-haiku-4-5";
  e["SQUADBOX_LLM_MAX_TOKENS"] = "4096";
  e["SQUADBOX_LLM_SYSTEM_FILE"] = "/workspace/CLAUDE.md";
  e["SQUADBOX_SESSION_DIR"] = "/tmp/s";
  e["SQUADBOX_LLM_TIMEOUT_MS"] = "2500";
  e["SQUADBOX_PROXY_PORT"] = "3001";
  auto c = parse(e);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->llm.route, "claude.eu-1");
  EXPECT_EQ(c->llm.model, "claude-haiku-4-5");
  EXPECT_EQ(c->llm.max_tokens, 4096);
  EXPECT_EQ(c->llm.instructions_file, "/workspace/CLAUDE.md");
  EXPECT_EQ(c->llm.session_dir, "/tmp/s");
  EXPECT_EQ(c->llm.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(c->proxy.port, 3001);
}

TEST(AgentConfig, LoopDefaultsAndOverrides) {
  auto d = parse(kLlm);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->llm.protocol, LlmProtocol::anthropic);
  EXPECT_EQ(d->llm.tools.size(), kToolNames.size());  // unset: all
  EXPECT_EQ(d->llm.max_steps, 20);
  EXPECT_EQ(d->llm.turn_timeout, std::chrono::milliseconds(0));
  EXPECT_EQ(d->llm.tool_output_max_bytes, 32768u);
  EXPECT_EQ(d->llm.bash_timeout, std::chrono::milliseconds(60000));
  EXPECT_EQ(d->llm.workspace, "/workspace");

  Env e = kLlm;
  e["SQUADBOX_LLM_PROTOCOL"] = "openai";
  e["SQUADBOX_AGENT_TOOLS"] = " read_file, bash,,bash ";
  e["SQUADBOX_LLM_MAX_STEPS"] = "5";
  e["SQUADBOX_LLM_TURN_TIMEOUT_MS"] = "90000";
  e["SQUADBOX_TOOL_OUTPUT_MAX_BYTES"] = "1024";
  e["SQUADBOX_BASH_TIMEOUT_MS"] = "500";
  e["SQUADBOX_WORKSPACE"] = "/w";
  e["SQUADBOX_LLM_SYSTEM_FILE"] = "/old.md";
  e["SQUADBOX_LLM_INSTRUCTIONS_FILE"] = "/new.md";
  auto c = parse(e);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->llm.protocol, LlmProtocol::openai);
  EXPECT_EQ(c->llm.tools, (std::vector<std::string>{"read_file", "bash"}));
  EXPECT_EQ(c->llm.max_steps, 5);
  EXPECT_EQ(c->llm.turn_timeout, std::chrono::milliseconds(90000));
  EXPECT_EQ(c->llm.tool_output_max_bytes, 1024u);
  EXPECT_EQ(c->llm.bash_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c->llm.workspace, "/w");
  EXPECT_EQ(c->llm.instructions_file, "/new.md");  // the new name wins over the alias

  auto none = parse(with(kLlm, "SQUADBOX_AGENT_TOOLS", ""));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->llm.tools.empty());  // set but empty: no tools
}

TEST(AgentConfig, BadLoopValuesNameTheVariable) {
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"SQUADBOX_LLM_PROTOCOL", "gemini"},
           {"SQUADBOX_AGENT_TOOLS", "bash,rm_rf"},
           {"SQUADBOX_LLM_MAX_STEPS", "0"},
           {"SQUADBOX_LLM_MAX_STEPS", "x"},
           {"SQUADBOX_LLM_TURN_TIMEOUT_MS", "-1"},
           {"SQUADBOX_TOOL_OUTPUT_MAX_BYTES", "10"},
           {"SQUADBOX_BASH_TIMEOUT_MS", "0"},
           {"SQUADBOX_WORKSPACE", "relative/dir"},
       }) {
    auto r = parse(with(kLlm, key, value));
    ASSERT_FALSE(r.ok()) << key << "=" << value;
    EXPECT_NE(r.error().message.find(key), std::string::npos) << r.error().message;
  }
}

TEST(AgentConfig, LlmNeedsTheProxy) {
  Env no_socket = kLlm;
  no_socket.erase("SQUADBOX_PROXY_SOCKET");
  Env no_token = kLlm;
  no_token.erase("SQUADBOX_PROXY_TOKEN");
  EXPECT_EQ(parse(no_socket).error().code, "agent.bad_llm");
  EXPECT_EQ(parse(no_token).error().code, "agent.bad_llm");
}

TEST(AgentConfig, BadValuesAreRejected) {
  struct Case {
    const char* key;
    std::string value;
    const char* code;
  } cases[] = {
      {"SQUADBOX_AGENT_MODE", "chat", "agent.bad_mode"},
      {"SQUADBOX_LLM_ROUTE", "a/b", "agent.bad_llm"},
      {"SQUADBOX_LLM_ROUTE", "..", "agent.bad_llm"},
      {"SQUADBOX_LLM_ROUTE", std::string(65, 'r'), "agent.bad_llm"},
      {"SQUADBOX_LLM_MODEL", "bad\nmodel", "agent.bad_llm"},
      {"SQUADBOX_LLM_MAX_TOKENS", "0", "agent.bad_llm"},
      {"SQUADBOX_LLM_MAX_TOKENS", "12x", "agent.bad_llm"},
      {"SQUADBOX_LLM_MAX_TOKENS", "-5", "agent.bad_llm"},
      {"SQUADBOX_LLM_TIMEOUT_MS", "0", "agent.bad_llm"},
      {"SQUADBOX_PROXY_TOKEN", "has space", "agent.bad_proxy"},
      {"SQUADBOX_PROXY_TOKEN", "tok\r\nx-evil: 1", "agent.bad_proxy"},
      {"SQUADBOX_PROXY_PORT", "65536", "agent.bad_proxy"},
      {"SQUADBOX_PROXY_PORT", "port", "agent.bad_proxy"},
  };
  for (const auto& c : cases) {
    auto r = parse(with(kLlm, c.key, c.value));
    ASSERT_FALSE(r.ok()) << c.key << "=" << c.value;
    EXPECT_EQ(r.error().code, c.code) << c.key << "=" << c.value;
  }
}

TEST(AgentConfig, BridgeNeedsTheSocketButNotLlmMode) {
  auto port_only = parse({{"SQUADBOX_PROXY_PORT", "3001"}});
  ASSERT_FALSE(port_only.ok());
  EXPECT_EQ(port_only.error().code, "agent.bad_proxy");
  auto echo_bridge = parse({{"SQUADBOX_PROXY_PORT", "0"}, {"SQUADBOX_PROXY_SOCKET", "/s"}});
  ASSERT_TRUE(echo_bridge.ok());
  EXPECT_EQ(echo_bridge->mode, Mode::echo);
  EXPECT_EQ(echo_bridge->proxy.port, 0);
}

}  // namespace
