#pragma once
// A real `squadbox serve` for end-to-end tests and benchmarks: a data dir with the agent
// image built (`squadbox image build`), the four platforms' bots (webhook mode) whose send
// APIs point at one fake platform server, their credentials in the vault, the oci
// backend with the echo agent. start() waits for admin.url and webhooks.url; kill() is a
// SIGKILL (the crash test), stop() a SIGTERM. Admin API and database helpers on top.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/core/secret.hpp"
#include "runtime/http/client.hpp"
#include "storage/sqlite.hpp"
#include "storage/vault_store.hpp"
#include "tests/e2e/credentials.hpp"
#include "tests/e2e/webhooks.hpp"
#include "tests/support/child_process.hpp"

namespace sb::test::e2e {

using namespace std::chrono_literals;

struct NodeSettings {
  std::string platform_url;  // every bot's api_base_url
  std::string extra_config;  // appended TOML (e.g. [namespaces] overrides)
  std::string squadbox;      // empty: bin_dir()/squadbox
  std::string log_level = "info";
  std::map<std::string, std::string> secrets;  // more vault entries (name -> value)
  // More environment for serve, e.g. SQUADBOX_WEBHOOKS_ACK_TIMEOUT_MS (a key of a section
  // that the fixture's config file already has).
  std::map<std::string, std::string> env;
  // storage.backend = "postgres": the server (a libpq connection string) and this node's
  // schema. Empty: the default SQLite file in the data dir.
  std::string postgres_conninfo;
  std::string postgres_schema;
};

class E2ENode {
 public:
  // `dir` must outlive the node. Builds the agent image and fills the vault; errors are
  // returned by prepare() so a fixture can ASSERT on them.
  E2ENode(std::string dir, NodeSettings settings) : dir_(std::move(dir)), s_(std::move(settings)) {
    data_ = dir_ + "/data";
    config_ = dir_ + "/squadbox.toml";
    if (s_.squadbox.empty()) s_.squadbox = bin_dir() + "/squadbox";
  }
  ~E2ENode() { stop(); }

  const std::string& data_dir() const { return data_; }
  const std::string& config_path() const { return config_; }
  // Where the node keeps its state: the SQLite file, or the PostgreSQL locator
  // (storage::Database::open takes either).
  std::string db_path() const {
    if (s_.postgres_conninfo.empty()) return data_ + "/squadbox.db";
    return storage::postgres_locator(s_.postgres_conninfo, s_.postgres_schema);
  }
  const std::string& exe() const { return s_.squadbox; }
  const std::string& webhooks_url() const { return hooks_; }
  const std::string& admin_url() const { return admin_; }
  const std::string& token() const { return token_; }
  ChildProcess* process() { return proc_.get(); }

  // Image, vault, config. "" on success, else what failed.
  std::string prepare() {
    std::filesystem::create_directories(data_);
    ChildProcess build(s_.squadbox, {"image", "build", "--data-dir", data_}, {}, dir_ + "/image-build");
    auto code = build.wait(120s);
    if (code != 0) return "squadbox image build failed: " + build.stderr_text();
    storage::VaultOptions vo;
    vo.db_path = db_path();
    vo.key_file = data_ + "/vault.key";
    auto v = storage::Vault::open(vo);
    if (!v) return "vault: " + v.error().message;
    const std::map<std::string, std::string> entries = {
        {"slack-signing", kSlackSigning}, {"slack-token", kSlackBotToken}, {"discord-token", kDiscordBotToken},
        {"wa-app", kWhatsAppAppSecret},   {"wa-verify", kWhatsAppVerify},  {"wa-access", kWhatsAppAccess},
        {"tg-secret", kTelegramSecret},   {"tg-token", kTelegramBotToken}};
    for (const auto& [name, value] : entries)
      if (auto st = (*v)->set(name, Secret(value)); !st) return "vault set " + name + ": " + st.error().message;
    for (const auto& [name, value] : s_.secrets)
      if (auto st = (*v)->set(name, Secret(value)); !st) return "vault set " + name + ": " + st.error().message;
    const std::string base = "api_base_url = \"" + s_.platform_url + "\"\n";
    std::ofstream(config_) << "[webhooks]\naddress = \"127.0.0.1\"\nport = 0\n"
                           << "[outbound]\nbackoff_base_ms = 50\nbackoff_max_ms = 500\nmax_attempts = 20\n"
                           << "[container]\nruntime = \"oci\"\nagent_mode = \"echo\"\n"
                           << "timeout_ms = 600000\nidle_timeout_ms = 600000\nstop_grace_ms = 500\n"
                           << "[security]\nallowlist_file = \"" << dir_ << "/no-mount-allowlist.json\"\n"
                           << "audit_interval_ms = 0\n"
                           << s_.extra_config << "\n"
                           << "[channels.slack.main]\nsigning_secret = \"slack-signing\"\nbot_token = \"slack-token\"\n"
                           << "bot_user_id = \"U0BOT1234\"\n"
                           << base << "[channels.discord.helper]\nbot_token = \"discord-token\"\npublic_key = \""
                           << kDiscordPublic << "\"\napplication_id = \"" << kDiscordApplication << "\"\n"
                           << base
                           << "[channels.whatsapp.shop]\napp_secret = \"wa-app\"\nverify_token = \"wa-verify\"\n"
                           << "access_token = \"wa-access\"\nphone_number_id = \"" << kWhatsAppPhone << "\"\n"
                           << base
                           << "[channels.telegram.tgbot]\nsecret_token = \"tg-secret\"\nbot_token = \"tg-token\"\n"
                           << "username = \"SquadHelperBot\"\n"
                           << base;
    return "";
  }

  // Starts serve and waits until both listeners are up. "" on success.
  std::string start(std::chrono::milliseconds timeout = 60s) {
    std::filesystem::remove(data_ + "/admin.url");
    std::filesystem::remove(data_ + "/webhooks.url");
    std::map<std::string, std::string> env = s_.env;
    env["SQUADBOX_ADMIN_PORT"] = "0";
    env["SQUADBOX_LOG_LEVEL"] = s_.log_level;
    if (!s_.postgres_conninfo.empty()) {
      env["SQUADBOX_STORAGE_BACKEND"] = "postgres";
      env["SQUADBOX_STORAGE_POSTGRES_URL"] = s_.postgres_conninfo;
      env["SQUADBOX_STORAGE_POSTGRES_SCHEMA"] = s_.postgres_schema;
    }
    proc_ = std::make_unique<ChildProcess>(s_.squadbox,
                                           std::vector<std::string>{"serve", "--config", config_, "--data-dir", data_},
                                           std::move(env), dir_ + "/serve-" + std::to_string(++starts_));
    bool up = wait_until(
        [&] {
          return std::filesystem::exists(data_ + "/admin.url") && std::filesystem::exists(data_ + "/webhooks.url");
        },
        timeout);
    if (!up) return "serve did not come up: " + proc_->stderr_text();
    hooks_ = first_line(data_ + "/webhooks.url");
    admin_ = first_line(data_ + "/admin.url");
    token_ = first_line(data_ + "/admin.token");
    return "";
  }
  // SIGKILL, reaped. The containers it ran are left behind (as after a real crash).
  void kill() {
    if (!proc_) return;
    proc_->signal(SIGKILL);
    proc_->wait(30s);
  }
  // Orderly stop; the exit code (nullopt: not stopped in time, then SIGKILLed).
  std::optional<int> stop() {
    if (!proc_) return 0;
    proc_->signal(SIGTERM);
    auto code = proc_->wait(60s);
    proc_.reset();
    return code;
  }
  std::string log() const { return proc_ ? proc_->stderr_text() : ""; }
  // The end of serve's log, for a failed test's output.
  std::string log_tail(size_t bytes = 20000) const {
    std::string all = log();
    return all.size() > bytes ? all.substr(all.size() - bytes) : all;
  }

  Result<http::Response> admin(const std::string& method, const std::string& path, std::string body = "",
                               std::chrono::milliseconds timeout = 20s) const {
    http::Headers h = {{"Authorization", "Bearer " + token_}};
    if (!body.empty()) h.emplace_back("Content-Type", "application/json");
    return http::request(method, admin_ + path, std::move(h), std::move(body), timeout);
  }
  // Creates namespace `name` and maps each chat JID to it. "" on success, else what failed.
  std::string add_namespace(const std::string& name, const std::vector<std::string>& jids) const {
    auto ns = admin("POST", "/api/v1/container/namespaces", R"({"name":")" + name + R"(","description":"e2e"})");
    if (!ns.ok() || ns->status != 201) return "namespace " + name + ": " + (ns.ok() ? ns->body : ns.error().message);
    for (const auto& jid : jids) {
      auto m = admin("POST", "/api/v1/container/mappings", R"({"jid":")" + jid + R"(","namespace":")" + name + R"("})");
      if (!m.ok() || m->status != 201) return "mapping " + jid + ": " + (m.ok() ? m->body : m.error().message);
    }
    return "";
  }
  // The bot's entry of GET /api/v1/container/channels ("" if absent).
  std::string channel_entry(const std::string& bot_id) const {
    auto list = admin("GET", "/api/v1/container/channels");
    if (!list.ok()) return "";
    auto at = list->body.find(R"("id":")" + bot_id + R"(")");
    if (at == std::string::npos) return "";
    auto end = list->body.find(R"({"id":)", at + 1);
    return list->body.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  // Waits until the bot's connection is stopped for good; its channels API entry (without
  // "fatal":true if it never was).
  std::string wait_connection_fatal(const std::string& bot_id, std::chrono::milliseconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::string entry;
    while (true) {
      entry = channel_entry(bot_id);
      if (entry.find(R"("fatal":true)") != std::string::npos || std::chrono::steady_clock::now() >= until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return entry;
  }
  Result<http::Response> post(const Webhook& w) const {
    return http::request("POST", hooks_ + w.path, w.headers, w.body, 20s);
  }

  // One text column of the first row of `sql` (bound to `arg` if given); "" if none.
  std::string query(const std::string& sql, const std::optional<std::string>& arg = std::nullopt) const {
    storage::OpenOptions o;
    o.read_only = true;
    auto db = storage::Database::open(db_path(), o);
    if (!db) return "";
    auto stmt = db->prepare(sql);
    if (!stmt) return "";
    if (arg && !stmt->bind(1, std::string_view(*arg))) return "";
    auto row = stmt->step();
    return row && *row ? stmt->column_text(0) : "";
  }
  // Every row's first column.
  std::vector<std::string> query_all(const std::string& sql) const {
    std::vector<std::string> out;
    storage::OpenOptions o;
    o.read_only = true;
    auto db = storage::Database::open(db_path(), o);
    if (!db) return out;
    auto stmt = db->prepare(sql);
    if (!stmt) return out;
    while (true) {
      auto row = stmt->step();
      if (!row || !*row) break;
      out.push_back(stmt->column_text(0));
    }
    return out;
  }

 private:
  static std::string first_line(const std::string& path) {
    std::string s;
    std::ifstream(path) >> s;
    return s;
  }

  std::string dir_, data_, config_;
  NodeSettings s_;
  std::unique_ptr<ChildProcess> proc_;
  std::string hooks_, admin_, token_;
  int starts_ = 0;
};

}  // namespace sb::test::e2e
