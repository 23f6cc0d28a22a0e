// Agent settings: the `agent` object's parsing (every bad input names its field), the
// merge of a PATCH (null resets), the stored form, settings over the node's defaults and
// the agent's environment.
#include "runtime/namespaces/agent_settings.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "runtime/namespaces/namespace.hpp"

namespace {

using namespace sb::namespaces;

sb::Result<AgentPatch> patch(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return agent_patch_from(doc, "agent");
}

AgentProfile node_defaults() {
  sb::config::ContainerConfig c;
  auto d = agent_defaults(c);
  EXPECT_TRUE(d) << d.error().message;
  return d ? *d : AgentProfile{};
}

TEST(AgentSettings, EveryFieldParsesFromTheProductShape) {
  auto p = patch(R"({"mode":"llm","route":"local","protocol":"openai","model":"qwen2.5","maxTokens":1024,)"
                 R"("maxSteps":20,"tools":["read_file","bash"],"command":["python3","/workspace/a.py"],)"
                 R"("instructions":"Be brief.\n"})");
  ASSERT_TRUE(p) << p.error().message;
  auto s = apply_agent_patch({}, *p);
  EXPECT_EQ(s.mode, AgentMode::llm);
  EXPECT_EQ(s.route, "local");
  EXPECT_EQ(s.protocol, LlmProtocol::openai);
  EXPECT_EQ(s.model, "qwen2.5");
  EXPECT_EQ(s.max_tokens, 1024);
  EXPECT_EQ(s.max_steps, 20);
  EXPECT_EQ(s.tools, (std::vector<std::string>{"read_file", "bash"}));
  EXPECT_EQ(s.command, (std::vector<std::string>{"python3", "/workspace/a.py"}));
  EXPECT_EQ(p->instructions, "Be brief.\n");
  // The stored form round-trips (instructions live in their own column).
  auto back = parse_agent_settings(agent_settings_json(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
  EXPECT_EQ(agent_settings_json(AgentSettings{}), "{}");
}

TEST(AgentSettings, BadValuesAreInvalidFieldNamingTheField) {
  struct Case {
    std::string json, field;
  };
  const std::vector<Case> cases = {
      {R"([])", "agent"},
      {R"("llm")", "agent"},
      {R"({"mode":"chat"})", "agent.mode"},
      {R"({"mode":1})", "agent.mode"},
      {R"({"route":""})", "agent.route"},
      {R"({"route":"a/b"})", "agent.route"},
      {R"({"protocol":"grpc"})", "agent.protocol"},
      {R"({"model":""})", "agent.model"},
      {R"({"model":"a\nb"})", "agent.model"},
      {R"({"maxTokens":0})", "agent.maxTokens"},
      {R"({"maxTokens":"5"})", "agent.maxTokens"},
      {R"({"maxSteps":201})", "agent.maxSteps"},
      {R"({"maxSteps":1.5})", "agent.maxSteps"},
      {R"({"tools":"bash"})", "agent.tools"},
      {R"({"tools":["bash","curl"]})", "agent.tools[1]"},
      {R"({"tools":["bash","bash"]})", "agent.tools[1]"},
      {R"({"tools":[1]})", "agent.tools[0]"},
      {R"({"command":[]})", "agent.command"},
      {R"({"command":"python3"})", "agent.command"},
      {R"({"command":[""]})", "agent.command[0]"},
      {R"({"command":["a",2]})", "agent.command[1]"},
      {R"({"instructions":5})", "agent.instructions"},
      {R"({"instructions":"a\u0000b"})", "agent.instructions"},
      {R"({"instructions":")" + std::string(kMaxInstructionsBytes + 1, 'x') + R"("})", "agent.instructions"},
      {R"({"image":"x:1"})", "agent.image"},
      {R"({"temperature":0.2})", "agent.temperature"},
  };
  for (const auto& c : cases) {
    auto p = patch(c.json);
    ASSERT_FALSE(p) << c.json;
    EXPECT_EQ(p.error().code, "invalid_field") << c.json;
    EXPECT_TRUE(p.error().message.starts_with(c.field + ": ")) << c.field << " <- " << p.error().message;
  }
  EXPECT_EQ(patch(R"({"maxSteps":201})").error().message, "agent.maxSteps: must be an integer from 1 to 200");
  EXPECT_TRUE(patch(R"({"instructions":")" + std::string(kMaxInstructionsBytes, 'x') + R"("})"));
  EXPECT_FALSE(validate_instructions("\xff\xfe"));
}

TEST(AgentSettings, APatchMergesMemberByMemberAndNullResets) {
  auto first = patch(R"({"mode":"llm","model":"m1","tools":["bash"]})");
  ASSERT_TRUE(first);
  auto s = apply_agent_patch({}, *first);
  auto second = patch(R"({"model":null,"maxSteps":5})");
  ASSERT_TRUE(second);
  s = apply_agent_patch(s, *second);
  EXPECT_EQ(s.mode, AgentMode::llm) << "absent: unchanged";
  EXPECT_FALSE(s.model) << "null: back to the default";
  EXPECT_EQ(s.max_steps, 5);
  EXPECT_EQ(s.tools, std::vector<std::string>{"bash"});
  auto none = patch(R"({"tools":[]})");
  ASSERT_TRUE(none);
  EXPECT_EQ(apply_agent_patch(s, *none).tools, std::vector<std::string>{}) << "[] is no tool at all";
  auto reset = patch("null");
  ASSERT_TRUE(reset);
  EXPECT_TRUE(reset->reset);
  EXPECT_EQ(apply_agent_patch(s, *reset), AgentSettings{});
  auto clear = patch(R"({"instructions":null})");
  ASSERT_TRUE(clear);
  EXPECT_EQ(clear->instructions, "");
}

TEST(AgentSettings, NodeDefaultsComeFromTheContainerKeys) {
  const auto d = node_defaults();
  EXPECT_EQ(d.mode, AgentMode::echo);
  EXPECT_EQ(d.route, "anthropic");
  EXPECT_EQ(d.protocol, LlmProtocol::anthropic);
  EXPECT_EQ(d.max_tokens, 1024);
  EXPECT_EQ(d.max_steps, 20);
  EXPECT_FALSE(d.tools) << "all tools";
  EXPECT_TRUE(d.command.empty());

  sb::config::ContainerConfig c;
  c.agent_mode = "exec";
  c.agent_command = R"(["/bin/cat"])";
  c.llm_protocol = "openai";
  c.llm_max_steps = 7;
  c.agent_tools = " read_file, list_files ";
  auto e = agent_defaults(c);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->mode, AgentMode::exec);
  EXPECT_EQ(e->command, std::vector<std::string>{"/bin/cat"});
  EXPECT_EQ(e->protocol, LlmProtocol::openai);
  EXPECT_EQ(e->max_steps, 7);
  EXPECT_EQ(e->tools, (std::vector<std::string>{"read_file", "list_files"}));

  c.agent_tools = "read_file,rm_rf";
  auto bad_tools = agent_defaults(c);
  ASSERT_FALSE(bad_tools);
  EXPECT_EQ(bad_tools.error().code, "config.invalid");
  EXPECT_TRUE(bad_tools.error().message.starts_with("container.agent_tools: unknown tool rm_rf"))
      << bad_tools.error().message;
  c.agent_tools = "all";
  c.agent_command = "/bin/cat";
  auto bad_command = agent_defaults(c);
  ASSERT_FALSE(bad_command);
  EXPECT_TRUE(bad_command.error().message.starts_with("container.agent_command: ")) << bad_command.error().message;
}

TEST(AgentSettings, TheNamespacesSettingsWinOverTheDefaultsAndBecomeTheAgentsEnvironment) {
  AgentSettings s;
  s.route = "local";
  s.protocol = LlmProtocol::openai;
  s.model = "qwen2.5";
  s.tools = std::vector<std::string>{"read_file", "bash"};
  auto a = effective_agent(s, node_defaults());
  EXPECT_EQ(a.mode, AgentMode::echo) << "not set: the node's";
  auto env = agent_env(a, "/session/instructions.md");
  EXPECT_EQ(env.at("SQUADBOX_AGENT_MODE"), "echo");
  EXPECT_EQ(env.at("SQUADBOX_AGENT_COMMAND"), "");
  EXPECT_EQ(env.at("SQUADBOX_LLM_ROUTE"), "local");
  EXPECT_EQ(env.at("SQUADBOX_LLM_PROTOCOL"), "openai");
  EXPECT_EQ(env.at("SQUADBOX_LLM_MODEL"), "qwen2.5");
  EXPECT_EQ(env.at("SQUADBOX_LLM_MAX_TOKENS"), "1024");
  EXPECT_EQ(env.at("SQUADBOX_LLM_MAX_STEPS"), "20");
  EXPECT_EQ(env.at("SQUADBOX_AGENT_TOOLS"), "read_file,bash");
  EXPECT_EQ(env.at("SQUADBOX_LLM_INSTRUCTIONS_FILE"), "/session/instructions.md");

  s.mode = AgentMode::exec;
  s.command = std::vector<std::string>{"python3", "-c", "print(\"hi\")"};
  s.tools.reset();
  auto exec = agent_env(effective_agent(s, node_defaults()), "");
  EXPECT_EQ(exec.at("SQUADBOX_AGENT_MODE"), "exec");
  EXPECT_EQ(exec.at("SQUADBOX_AGENT_COMMAND"), R"x(["python3","-c","print(\"hi\")"])x");
  EXPECT_EQ(exec.count("SQUADBOX_AGENT_TOOLS"), 0u) << "unset: all tools";
  EXPECT_EQ(exec.count("SQUADBOX_LLM_INSTRUCTIONS_FILE"), 0u);
}

TEST(AgentSettings, TheNamespaceJsonShowsTheSettingsAndWhatTheAgentGets) {
  Namespace ns;
  ns.name = "team";
  ns.agent.model = "qwen2.5";
  ns.agent.max_steps = 5;
  ns.instructions = "Answer in \"German\".";
  const auto d = node_defaults();
  const std::string plain = namespace_json(ns, "/data");
  EXPECT_NE(plain.find(R"("agent":{"model":"qwen2.5","maxSteps":5,"instructions":"Answer in \"German\"."})"),
            std::string::npos)
      << plain;
  EXPECT_EQ(plain.find("agentEffective"), std::string::npos);
  const std::string full = namespace_json(ns, "/data", &d);
  EXPECT_NE(full.find(R"("agentEffective":{"mode":"echo","route":"anthropic","protocol":"anthropic",)"
                      R"("model":"qwen2.5","maxTokens":1024,"maxSteps":5,"tools":["bash",)"),
            std::string::npos)
      << full;
  EXPECT_NE(full.find(R"("cancel_task"],"command":[]})"), std::string::npos) << full;
}

TEST(AgentSettings, NamespacePatchCarriesTheAgentObject) {
  auto p = parse_namespace_patch(R"({"agent":{"mode":"llm","maxSteps":3}})", false);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_TRUE(p->agent);
  EXPECT_EQ(p->agent->max_steps, std::optional<int64_t>(3));
  auto bad = parse_namespace_patch(R"({"name":"x","agent":{"maxSteps":0}})", true);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with("agent.maxSteps: ")) << bad.error().message;
}

TEST(AgentSettings, ToolListsOfTheConfiguration) {
  EXPECT_FALSE(*parse_tool_list("all", "f"));
  EXPECT_EQ(**parse_tool_list("bash,,read_file", "f"), (std::vector<std::string>{"bash", "read_file"}));
  EXPECT_FALSE(*parse_tool_list("", "f"));
  EXPECT_EQ(**parse_tool_list("none", "f"), std::vector<std::string>{});
  auto bad = parse_tool_list("bash,nope", "container.agent_tools");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with("container.agent_tools: unknown tool nope")) << bad.error().message;
}

}  // namespace
