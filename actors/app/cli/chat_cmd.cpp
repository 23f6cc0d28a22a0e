// squadbox chat NAMESPACE TEXT...: one message to a namespace through the local chat
// channel of the running node (POST /api/v1/chat/{namespace}, docs/local-chat.md); prints
// the agent's replies, one per line.
#include <cctype>
#include <iostream>
#include <iterator>
#include <memory>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/app/cli/commands.hpp"

namespace sb::app::cli {
namespace {

// The node waits chat_reply_timeout_ms for the reply; the client waits this much longer.
constexpr std::chrono::milliseconds kClientMargin{30000};

struct ChatArgs {
  std::string ns;
  std::vector<std::string> words;
  std::string sender;
};

std::string error_message(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("error") && doc["error"].IsObject() &&
      doc["error"].HasMember("message") && doc["error"]["message"].IsString())
    return doc["error"]["message"].GetString();
  return body;
}

// The namespace's agent runs in echo mode (no model configured): says so on stderr, with
// the command that points it at a model, so that a first `chat` shows both that the path
// works and what to do next. Quiet when the namespace cannot be read.
void hint_if_echo(const CliContext& ctx, const std::string& ns) {
  auto r = call_node(
      ctx, {"GET", "/api/v1/container/namespaces/" + percent_encode(ns), "", std::chrono::milliseconds(5000)});
  auto* resp = std::get_if<ClientResponse>(&r);
  if (!resp || resp->status != 200) return;
  rapidjson::Document doc;
  doc.Parse(resp->body.c_str());
  if (doc.HasParseError() || !doc.IsObject()) return;
  auto eff = doc.FindMember("agentEffective");
  if (eff == doc.MemberEnd() || !eff->value.IsObject()) return;
  auto mode = eff->value.FindMember("mode");
  if (mode == eff->value.MemberEnd() || !mode->value.IsString() || std::string_view(mode->value.GetString()) != "echo")
    return;
  std::cerr << "(the echo agent answered: namespace " << ns
            << " has no model. Give it one with a [proxy.routes.NAME] in the config and\n"
               " squadbox ns set "
            << ns
            << " --mode llm --route NAME --protocol anthropic|openai --model MODEL\n"
               " see docs/agents.md)\n";
}

int run_chat(const CliContext& ctx, const ChatArgs& a) {
  std::string text;
  if (a.words.empty() || (a.words.size() == 1 && a.words[0] == "-")) {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  } else {
    for (const auto& w : a.words) text += (text.empty() ? "" : " ") + w;
  }
  if (text.empty()) {
    std::cerr << "squadbox: nothing to send (give the text as arguments or on stdin)\n";
    return kExitUsage;
  }
  std::chrono::milliseconds reply_timeout{120000};
  if (auto c = load_config(ctx.common, false))
    reply_timeout = std::chrono::milliseconds(c->namespaces.chat_reply_timeout_ms);

  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("text");
  w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  if (!a.sender.empty()) {
    w.Key("sender");
    w.String(a.sender.c_str(), static_cast<rapidjson::SizeType>(a.sender.size()));
  }
  w.EndObject();

  auto r =
      call_node(ctx, {"POST", "/api/v1/chat/" + percent_encode(a.ns), buf.GetString(), reply_timeout + kClientMargin});
  if (auto* code = std::get_if<int>(&r)) return *code;
  auto& resp = std::get<ClientResponse>(r);
  if (resp.status == 404) {
    std::cerr << "squadbox: no namespace " << a.ns << "\n";
    return kExitRuntime;
  }
  if (resp.status == 504) {
    // The node's message states its own timeout ("no reply within N ms; ...").
    std::cerr << "squadbox: " << error_message(resp.body) << "\n";
    return kExitRuntime;
  }
  if (resp.status == 502) {
    std::cerr << "squadbox: the agent's turn failed: " << error_message(resp.body) << "\n";
    return kExitRuntime;
  }
  if (resp.status != 200) return report_failure(resp);
  rapidjson::Document doc;
  doc.Parse(resp.body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("replies") || !doc["replies"].IsArray()) {
    std::cerr << "squadbox: unexpected answer: " << resp.body << "\n";
    return kExitRuntime;
  }
  for (const auto& reply : doc["replies"].GetArray())
    if (reply.IsString()) std::cout << std::string_view(reply.GetString(), reply.GetStringLength()) << "\n";
  std::cout.flush();
  hint_if_echo(ctx, a.ns);
  return kExitOk;
}

}  // namespace

void add_chat_commands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<ChatArgs>();
  auto* chat = app.add_subcommand("chat", "Talk to a namespace's agent through the local chat channel");
  chat->add_option("namespace", a->ns, "Namespace name or id")->required();
  chat->add_option("text", a->words, "The message (words are joined by spaces; '-' or none: read stdin)");
  chat->add_option("--sender", a->sender, "Display name the agent sees (default: operator)");
  add_client(chat, ctx);
  chat->callback([&ctx, a] { ctx.exit_code = run_chat(ctx, *a); });
}

}  // namespace sb::app::cli
