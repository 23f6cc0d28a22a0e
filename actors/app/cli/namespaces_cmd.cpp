// squadbox ns|map|allow|routing: the routing model (namespaces, chat mappings, sender
// allowlists, default policy) through the running node's admin API (docs/namespaces.md).
#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/app/cli/agent_flags.hpp"
#include "actors/app/cli/commands.hpp"
#include "actors/app/cli/json_call.hpp"

namespace sb::app::cli {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr const char* kNs = "/api/v1/container/namespaces";
constexpr const char* kMappings = "/api/v1/container/mappings";
constexpr const char* kAllowlists = "/api/v1/container/allowlists";
constexpr const char* kRouting = "/api/v1/container/routing";

bool looks_like_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::string str(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return "";
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}
bool flag(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return false;
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsBool() && it->value.GetBool();
}

// "platform/bot" -> "platform/bot" path suffix, or "" if malformed.
std::string bot_path(const std::string& bot) {
  auto slash = bot.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == bot.size()) return "";
  return std::string(kAllowlists) + "/" + percent_encode(bot.substr(0, slash)) + "/" +
         percent_encode(bot.substr(slash + 1));
}

void print_allowlist(const rapidjson::Value& a) {
  std::cout << str(a, "platform") << "/" << str(a, "bot") << ": ";
  if (str(a, "mode") == "everyone") {
    std::cout << "everyone\n";
    return;
  }
  std::cout << "only";
  if (a.HasMember("senders") && a["senders"].IsArray())
    for (const auto& s : a["senders"].GetArray())
      if (s.IsString()) std::cout << " " << s.GetString();
  std::cout << "\n";
}

void print_routing(const rapidjson::Value& r) {
  if (str(r, "defaultPolicy") == "namespace")
    std::cout << "unmapped chats go to namespace " << str(r, "defaultNamespace") << " (" << str(r, "defaultNamespaceId")
              << ")\n";
  else
    std::cout << "unmapped chats are ignored\n";
}

struct Args {
  std::string name, description, trigger, jid, ns, bot, policy, target;
  std::vector<std::string> senders;
  bool main = false, no_trigger_in_groups = false, replace = false, json = false;
  AgentFlags agent;
  std::optional<std::string> instructions_file;
  bool clear = false;
};

// One line per agent setting: the effective value, "(default)" when the node's.
void print_agent(const rapidjson::Value& ns) {
  if (!ns.IsObject() || !ns.HasMember("agentEffective") || !ns["agentEffective"].IsObject()) return;
  const auto& eff = ns["agentEffective"];
  const rapidjson::Value* set = ns.HasMember("agent") && ns["agent"].IsObject() ? &ns["agent"] : nullptr;
  for (const char* key : {"mode", "route", "protocol", "model", "maxTokens", "maxSteps", "tools", "command"}) {
    auto it = eff.FindMember(key);
    if (it == eff.MemberEnd()) continue;
    std::string value;
    if (it->value.IsString()) {
      value = it->value.GetString();
    } else if (it->value.IsInt64()) {
      value = std::to_string(it->value.GetInt64());
    } else if (it->value.IsArray()) {
      for (const auto& e : it->value.GetArray())
        if (e.IsString()) value += (value.empty() ? "" : ",") + std::string(e.GetString());
    }
    const bool chosen = set && set->HasMember(key);
    std::cout << key << "\t" << (value.empty() ? "-" : value) << (chosen ? "" : "\t(default)") << "\n";
  }
}

// The whole of a file, or of stdin for "-".
Result<std::string> read_text(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cli.usage", "--file " + path + ": cannot open");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (in.bad()) return make_error("cli.usage", "--file " + path + ": cannot read");
  return text;
}

void add_ns(CLI::App& app, CliContext& ctx, std::shared_ptr<Args> a) {
  auto* ns = app.add_subcommand("ns", "Manage namespaces (squad groups) of a running node");
  ns->require_subcommand(1);

  auto* add = ns->add_subcommand("add", "Create a namespace (the first one is the main namespace)");
  add->add_option("name", a->name, "Name (^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$)")->required();
  add->add_option("--description", a->description, "What the namespace is for");
  add->add_flag("--main", a->main, "Make it the main namespace (demotes the current one)");
  add->add_option("--trigger", a->trigger, "Word that addresses the agent in group chats (default @<assistant>)");
  add->add_flag("--no-trigger-in-groups", a->no_trigger_in_groups,
                "Answer every group message, not only triggered ones");
  add_client(add, ctx);
  add->callback([&ctx, a] {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("name");
    w.String(a->name.c_str());
    if (!a->description.empty()) {
      w.Key("description");
      w.String(a->description.c_str());
    }
    if (a->main) {
      w.Key("isMain");
      w.Bool(true);
    }
    if (!a->trigger.empty()) {
      w.Key("trigger");
      w.String(a->trigger.c_str());
    }
    if (a->no_trigger_in_groups) {
      w.Key("requiresTrigger");
      w.Bool(false);
    }
    w.EndObject();
    ctx.exit_code =
        call_json(ctx, "POST", kNs, buf.GetString(), [](const rapidjson::Document& d, const ClientResponse&) {
          std::cout << "created " << str(d, "name") << " " << str(d, "id") << (flag(d, "isMain") ? " (main)" : "")
                    << "\n";
        });
  });

  auto* list = ns->add_subcommand("list", "List namespaces: name, id, main, mapped chats");
  list->add_flag("--json", a->json, "Print the API answer");
  add_client(list, ctx);
  list->callback([&ctx, a] {
    ctx.exit_code = call_json(ctx, "GET", kNs, "", [a](const rapidjson::Document& d, const ClientResponse& r) {
      if (a->json || !d.IsArray()) {
        std::cout << r.body << "\n";
        return;
      }
      for (const auto& n : d.GetArray()) {
        std::cout << str(n, "name") << "\t" << str(n, "id") << (flag(n, "isMain") ? "\tmain" : "\t-");
        std::string jids;
        if (n.HasMember("jids") && n["jids"].IsArray())
          for (const auto& j : n["jids"].GetArray())
            if (j.IsString()) jids += (jids.empty() ? "" : ",") + std::string(j.GetString());
        std::cout << "\t" << (jids.empty() ? "-" : jids) << "\n";
      }
    });
  });

  auto* show = ns->add_subcommand("show", "Show one namespace as JSON");
  show->add_option("namespace", a->name, "Name or id")->required();
  add_client(show, ctx);
  show->callback([&ctx, a] {
    ctx.exit_code = call_json(ctx, "GET", std::string(kNs) + "/" + percent_encode(a->name), "",
                              [](const rapidjson::Document&, const ClientResponse& r) { std::cout << r.body << "\n"; });
  });

  auto* set = ns->add_subcommand("set", "Set a namespace's agent settings (`default`: back to the node's)");
  set->add_option("namespace", a->name, "Name or id")->required();
  set->add_option("--mode", a->agent.mode, "echo | exec | llm | default")
      ->check(CLI::IsMember({"echo", "exec", "llm", "default"}));
  set->add_option("--route", a->agent.route, "Proxy route ([proxy.routes.NAME]) of the llm mode");
  set->add_option("--protocol", a->agent.protocol, "anthropic | openai | default")
      ->check(CLI::IsMember({"anthropic", "openai", "default"}));
  set->add_option("--model", a->agent.model, "Model name");
  set->add_option("--max-tokens", a->agent.max_tokens, "max_tokens of each model call (1-1000000)");
  set->add_option("--max-steps", a->agent.max_steps, "Model calls per turn at most (1-200)");
  set->add_option("--tools", a->agent.tools, "Enabled tools: a,b,c | all | none | default");
  set->add_option("--command", a->agent.command, "exec mode's argv as a JSON array");
  add_client(set, ctx);
  set->callback([&ctx, a] {
    auto body = agent_patch_body(a->agent);
    if (!body) {
      std::cerr << "squadbox: " << body.error().message << "\n";
      ctx.exit_code = kExitUsage;
      return;
    }
    ctx.exit_code = call_json(ctx, "PATCH", std::string(kNs) + "/" + percent_encode(a->name), *body,
                              [](const rapidjson::Document& d, const ClientResponse&) { print_agent(d); });
  });

  auto* instr = ns->add_subcommand("instructions", "Print a namespace's instructions, or set them from a file");
  instr->add_option("namespace", a->name, "Name or id")->required();
  auto* file = instr->add_option("--file", a->instructions_file, "Set them from this file (- : standard input)");
  instr->add_flag("--clear", a->clear, "Remove them")->excludes(file);
  add_client(instr, ctx);
  instr->callback([&ctx, a] {
    const std::string path = std::string(kNs) + "/" + percent_encode(a->name);
    if (!a->instructions_file && !a->clear) {
      ctx.exit_code = call_json(ctx, "GET", path, "", [](const rapidjson::Document& d, const ClientResponse&) {
        if (!d.IsObject() || !d.HasMember("agent") || !d["agent"].IsObject()) return;
        const auto& agent = d["agent"];
        auto it = agent.FindMember("instructions");
        if (it == agent.MemberEnd() || !it->value.IsString()) return;
        const std::string text(it->value.GetString(), it->value.GetStringLength());
        std::cout << text << (text.empty() || text.ends_with('\n') ? "" : "\n");
      });
      return;
    }
    std::optional<std::string> text;
    if (a->instructions_file) {
      auto read = read_text(*a->instructions_file);
      if (!read) {
        std::cerr << "squadbox: " << read.error().message << "\n";
        ctx.exit_code = kExitUsage;
        return;
      }
      text = std::move(*read);
    }
    auto body = instructions_patch_body(text);
    if (!body) {
      std::cerr << "squadbox: " << body.error().message << "\n";
      ctx.exit_code = kExitUsage;
      return;
    }
    const std::size_t bytes = text ? text->size() : 0;
    ctx.exit_code = call_json(ctx, "PATCH", path, *body, [bytes](const rapidjson::Document& d, const ClientResponse&) {
      if (bytes == 0)
        std::cout << "cleared the instructions of " << str(d, "name") << "\n";
      else
        std::cout << "set the instructions of " << str(d, "name") << " (" << bytes << " bytes)\n";
    });
  });

  auto* rm = ns->add_subcommand("rm", "Remove a namespace and its mappings (its directories stay)");
  rm->add_option("namespace", a->name, "Name or id")->required();
  add_client(rm, ctx);
  rm->callback([&ctx, a] {
    ctx.exit_code = call_json(
        ctx, "DELETE", std::string(kNs) + "/" + percent_encode(a->name), "",
        [a](const rapidjson::Document&, const ClientResponse&) { std::cout << "removed " << a->name << "\n"; });
  });
}

void add_map(CLI::App& app, CliContext& ctx, std::shared_ptr<Args> a) {
  auto* map = app.add_subcommand("map", "Map chats (JIDs) to namespaces on a running node");
  map->require_subcommand(1);

  auto* add = map->add_subcommand("add", "Route a chat to a namespace");
  add->add_option("jid", a->jid, "Chat JID: slack:C..., dc:..., wa:+..., tg:..., local:NAME")->required();
  add->add_option("namespace", a->ns, "Namespace name or id")->required();
  add->add_flag("--replace", a->replace, "Move the chat if it is mapped to another namespace");
  add_client(add, ctx);
  add->callback([&ctx, a] {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("jid");
    w.String(a->jid.c_str());
    w.Key(looks_like_uuid(a->ns) ? "namespaceId" : "namespace");
    w.String(a->ns.c_str());
    if (a->replace) {
      w.Key("replace");
      w.Bool(true);
    }
    w.EndObject();
    ctx.exit_code =
        call_json(ctx, "POST", kMappings, buf.GetString(), [](const rapidjson::Document& d, const ClientResponse&) {
          std::cout << "mapped " << str(d, "jid") << " -> " << str(d, "namespace") << "\n";
        });
  });

  auto* list = map->add_subcommand("list", "List mappings: JID and namespace");
  list->add_option("--namespace", a->ns, "Only this namespace (name or id)");
  add_client(list, ctx);
  list->callback([&ctx, a] {
    std::string path = kMappings;
    if (!a->ns.empty()) path += "?namespace=" + percent_encode(a->ns);
    ctx.exit_code = call_json(ctx, "GET", path, "", [](const rapidjson::Document& d, const ClientResponse&) {
      if (!d.IsArray()) return;
      for (const auto& m : d.GetArray()) std::cout << str(m, "jid") << "\t" << str(m, "namespace") << "\n";
    });
  });

  auto* rm = map->add_subcommand("rm", "Unmap a chat");
  rm->add_option("jid", a->jid, "Chat JID")->required();
  add_client(rm, ctx);
  rm->callback([&ctx, a] {
    ctx.exit_code = call_json(
        ctx, "DELETE", std::string(kMappings) + "/" + percent_encode(a->jid), "",
        [a](const rapidjson::Document&, const ClientResponse&) { std::cout << "unmapped " << a->jid << "\n"; });
  });
}

int put_allowlist(const CliContext& ctx, const std::string& bot, const std::vector<std::string>* senders) {
  const std::string path = bot_path(bot);
  if (path.empty()) {
    std::cerr << "squadbox: BOT must be PLATFORM/NAME, e.g. telegram/main\n";
    return kExitUsage;
  }
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("mode");
  w.String(senders ? "list" : "everyone");
  if (senders) {
    w.Key("senders");
    w.StartArray();
    for (const auto& s : *senders) w.String(s.c_str());
    w.EndArray();
  }
  w.EndObject();
  return call_json(ctx, "PUT", path, buf.GetString(),
                   [](const rapidjson::Document& d, const ClientResponse&) { print_allowlist(d); });
}

void add_allow(CLI::App& app, CliContext& ctx, std::shared_ptr<Args> a) {
  auto* allow = app.add_subcommand("allow", "Sender allowlists per channel bot on a running node");
  allow->require_subcommand(1);

  auto* show = allow->add_subcommand("show", "Who may talk to a bot");
  show->add_option("bot", a->bot, "PLATFORM/NAME, e.g. telegram/main")->required();
  add_client(show, ctx);
  show->callback([&ctx, a] {
    const std::string path = bot_path(a->bot);
    if (path.empty()) {
      std::cerr << "squadbox: BOT must be PLATFORM/NAME, e.g. telegram/main\n";
      ctx.exit_code = kExitUsage;
      return;
    }
    ctx.exit_code = call_json(ctx, "GET", path, "",
                              [](const rapidjson::Document& d, const ClientResponse&) { print_allowlist(d); });
  });

  auto* everyone = allow->add_subcommand("everyone", "Let every sender through");
  everyone->add_option("bot", a->bot, "PLATFORM/NAME")->required();
  add_client(everyone, ctx);
  everyone->callback([&ctx, a] { ctx.exit_code = put_allowlist(ctx, a->bot, nullptr); });

  auto* only = allow->add_subcommand("only", "Let only these sender ids through (others are dropped and counted)");
  only->add_option("bot", a->bot, "PLATFORM/NAME")->required();
  only->add_option("senders", a->senders, "Platform sender ids")->required();
  add_client(only, ctx);
  only->callback([&ctx, a] { ctx.exit_code = put_allowlist(ctx, a->bot, &a->senders); });
}

void add_routing(CLI::App& app, CliContext& ctx, std::shared_ptr<Args> a) {
  auto* routing = app.add_subcommand("routing", "What happens to chats that no namespace is mapped to");
  routing->require_subcommand(1);

  auto* show = routing->add_subcommand("show", "Show the default policy");
  add_client(show, ctx);
  show->callback([&ctx] {
    ctx.exit_code = call_json(ctx, "GET", kRouting, "",
                              [](const rapidjson::Document& d, const ClientResponse&) { print_routing(d); });
  });

  auto* set = routing->add_subcommand("set", "Set the default policy: ignore | namespace NAME");
  set->add_option("policy", a->policy, "ignore or namespace")
      ->required()
      ->check(CLI::IsMember({"ignore", "namespace"}));
  set->add_option("namespace", a->target, "The default namespace (name or id) for policy namespace");
  add_client(set, ctx);
  set->callback([&ctx, a] {
    if (a->policy == "namespace" && a->target.empty()) {
      std::cerr << "squadbox: routing set namespace needs a NAMESPACE\n";
      ctx.exit_code = kExitUsage;
      return;
    }
    if (a->policy == "ignore" && !a->target.empty()) {
      std::cerr << "squadbox: routing set ignore takes no namespace\n";
      ctx.exit_code = kExitUsage;
      return;
    }
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("defaultPolicy");
    w.String(a->policy.c_str());
    if (!a->target.empty()) {
      w.Key("defaultNamespace");
      w.String(a->target.c_str());
    }
    w.EndObject();
    ctx.exit_code = call_json(ctx, "PUT", kRouting, buf.GetString(),
                              [](const rapidjson::Document& d, const ClientResponse&) { print_routing(d); });
  });
}

}  // namespace

void add_namespaces_commands(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<Args>();
  add_ns(app, ctx, args);
  add_map(app, ctx, args);
  add_allow(app, ctx, args);
  add_routing(app, ctx, args);
}

}  // namespace sb::app::cli
