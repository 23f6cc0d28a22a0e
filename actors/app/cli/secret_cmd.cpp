// squadbox secret set|list|rm|rotate-key: the vault through the running node's admin API
// (docs/security-vault.md). A value is read from stdin only, never from argv, where
// every user of the machine could see it in ps.
#include <termios.h>
#include <unistd.h>

#include <algorithm>
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

// Turns terminal echo off while a value is typed; restores it on destruction.
class EchoOff {
 public:
  EchoOff() {
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

// The value from stdin: everything up to EOF (a terminal: one line, not echoed), minus
// one trailing newline.
std::string read_value(const std::string& name) {
  std::string value;
  if (::isatty(STDIN_FILENO)) {
    std::cerr << "Value for " << name << ": " << std::flush;
    EchoOff quiet;
    std::getline(std::cin, value);
    std::cerr << "\n";
    return value;
  }
  value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  if (!value.empty() && value.back() == '\n') value.pop_back();
  return value;
}

std::string item_path(const std::string& name) {
  // Names are validated by the node; escape anything that would change the URL.
  return "/api/v1/container/secrets/" + percent_encode(name);
}

int run_set(const CliContext& ctx, const std::string& name) {
  std::string value = read_value(name);
  if (value.empty()) {
    std::cerr << "squadbox: empty value refused (pipe the value on stdin: printf %s \"$KEY\" | squadbox secret set "
              << name << ")\n";
    return kExitUsage;
  }
  // Validating writer: a value that is not UTF-8 is refused rather than altered.
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::CrtAllocator,
                    rapidjson::kWriteValidateEncodingFlag>
      w(buf);
  w.StartObject();
  w.Key("value");
  const bool text = w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  std::fill(value.begin(), value.end(), '\0');
  if (!text) {
    std::cerr << "squadbox: the value is not UTF-8 text; encode binary secrets (e.g. base64) first\n";
    return kExitUsage;
  }
  w.EndObject();
  std::string body(buf.GetString(), buf.GetSize());
  auto r = call_node(ctx, {"PUT", item_path(name), body, std::chrono::seconds(30)});
  std::fill(body.begin(), body.end(), '\0');
  if (auto* code = std::get_if<int>(&r)) return *code;
  auto& resp = std::get<ClientResponse>(r);
  if (resp.status / 100 != 2) return report_failure(resp);
  std::cout << (resp.status == 201 ? "created " : "updated ") << name << "\n";
  return kExitOk;
}

int run_list(const CliContext& ctx, bool json) {
  auto r = call_node(ctx, {"GET", "/api/v1/container/secrets", "", std::chrono::seconds(10)});
  if (auto* code = std::get_if<int>(&r)) return *code;
  auto& resp = std::get<ClientResponse>(r);
  if (resp.status != 200) return report_failure(resp);
  if (json) {
    std::cout << resp.body << "\n";
    return kExitOk;
  }
  rapidjson::Document doc;
  doc.Parse(resp.body.c_str());
  if (doc.HasParseError() || !doc.IsArray()) {
    std::cerr << "squadbox: unexpected answer: " << resp.body << "\n";
    return kExitRuntime;
  }
  for (const auto& s : doc.GetArray())
    if (s.IsObject() && s.HasMember("name") && s["name"].IsString()) std::cout << s["name"].GetString() << "\n";
  return kExitOk;
}

int run_rm(const CliContext& ctx, const std::string& name) {
  auto r = call_node(ctx, {"DELETE", item_path(name), "", std::chrono::seconds(30)});
  if (auto* code = std::get_if<int>(&r)) return *code;
  auto& resp = std::get<ClientResponse>(r);
  if (resp.status / 100 != 2) return report_failure(resp);
  std::cout << "removed " << name << "\n";
  return kExitOk;
}

int run_rotate(const CliContext& ctx) {
  auto r = call_node(ctx, {"POST", "/api/v1/container/secrets:rotate-key", "", std::chrono::seconds(120)});
  if (auto* code = std::get_if<int>(&r)) return *code;
  auto& resp = std::get<ClientResponse>(r);
  if (resp.status != 200) return report_failure(resp);
  rapidjson::Document doc;
  doc.Parse(resp.body.c_str());
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("rotated") && doc["rotated"].IsUint64())
    std::cout << "re-encrypted " << doc["rotated"].GetUint64() << " secret(s) under a new key\n";
  else
    std::cout << resp.body << "\n";
  return kExitOk;
}

}  // namespace

void add_secret_commands(CLI::App& app, CliContext& ctx) {
  auto* secret = app.add_subcommand("secret", "Manage the encrypted vault of a running node");
  secret->require_subcommand(1);

  struct Args {
    std::string name;
    bool json = false;
  };
  auto args = std::make_shared<Args>();

  auto* set =
      secret->add_subcommand("set", "Store a secret; the value is read from stdin (one trailing newline stripped)");
  set->add_option("name", args->name, "Secret name (^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$)")->required();
  add_client(set, ctx);
  set->callback([&ctx, args] { ctx.exit_code = run_set(ctx, args->name); });

  auto* list = secret->add_subcommand("list", "List secret names (never values)");
  list->add_flag("--json", args->json, "Print the API answer (names and timestamps) as JSON");
  add_client(list, ctx);
  list->callback([&ctx, args] { ctx.exit_code = run_list(ctx, args->json); });

  auto* rm = secret->add_subcommand("rm", "Remove a secret");
  rm->add_option("name", args->name, "Secret name")->required();
  add_client(rm, ctx);
  rm->callback([&ctx, args] { ctx.exit_code = run_rm(ctx, args->name); });

  auto* rotate = secret->add_subcommand("rotate-key", "Re-encrypt every secret under a new vault key");
  add_client(rotate, ctx);
  rotate->callback([&ctx] { ctx.exit_code = run_rotate(ctx); });
}

}  // namespace sb::app::cli
