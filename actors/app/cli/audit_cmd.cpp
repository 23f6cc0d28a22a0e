// squadbox audit verify|tail (docs/audit.md). `verify` reads the node's database file
// directly, read-only (safe while the node runs: WAL readers never block the writer);
// `tail` talks to the running node's admin API.
#include <signal.h>
#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/app/cli/commands.hpp"
#include "runtime/http/message.hpp"
#include "runtime/security/audit/audit_chain.hpp"
#include "storage/audit_store.hpp"
#include "storage/database_target.hpp"

namespace sb::app::cli {
namespace {

struct VerifyArgs {
  std::string expect_head;  // hex
};

int run_verify(const CliContext& ctx, const VerifyArgs& args) {
  auto config = load_config(ctx.common);
  if (!config) return kExitUsage;
  const std::string db_path = storage::database_target(*config);  // a file or a postgres: locator
  std::string expected;
  if (!args.expect_head.empty()) {
    expected.resize(security::audit::kHashBytes);
    size_t len = 0;
    const char* end = nullptr;
    if (sodium_hex2bin(reinterpret_cast<unsigned char*>(expected.data()), expected.size(), args.expect_head.data(),
                       args.expect_head.size(), nullptr, &len, &end) != 0 ||
        len != security::audit::kHashBytes || end != args.expect_head.data() + args.expect_head.size()) {
      std::cerr << "squadbox: --expect-head must be 64 hex digits (a head printed by an earlier verify)\n";
      return kExitUsage;
    }
  }
  if (!storage::is_postgres_locator(db_path) && !std::filesystem::exists(db_path)) {
    std::cerr << "squadbox: no database at " << db_path << " (wrong --data-dir?)\n";
    return kExitUsage;
  }
  auto result = storage::verify_database(db_path);
  if (!result) {
    std::cerr << "squadbox: cannot read the audit log in " << db_path << ": " << result.error().message << "\n";
    return kExitRuntime;
  }
  if (result->fault) {
    const auto& f = *result->fault;
    std::cout << "FAILED at seq " << f.seq << " (" << security::audit::to_string(f.kind) << "): " << f.reason << "\n"
              << result->records << " record(s) before it verified"
              << (result->records ? ", last good head " + security::audit::to_hex(result->head) : std::string())
              << "\n";
    return kExitRuntime;
  }
  if (!expected.empty()) {
    auto seq = storage::find_seq_by_hash(db_path, expected);
    if (!seq) {
      std::cerr << "squadbox: " << seq.error().message << "\n";
      return kExitRuntime;
    }
    if (!*seq) {
      std::cout << "FAILED: head " << args.expect_head << " is not in the chain (records were cut off the end, "
                << "or the chain was rewritten); " << result->records << " record(s) verified, head "
                << security::audit::to_hex(result->head) << "\n";
      return kExitRuntime;
    }
  }
  std::cout << "ok: " << result->records << " records, head "
            << (result->records ? security::audit::to_hex(result->head) : std::string("(empty)")) << "\n";
  return kExitOk;
}

struct TailArgs {
  bool follow = false;
  bool json = false;
  std::string namespace_name;
  size_t count = 20;
};

std::string query_string(const TailArgs& args, std::optional<int64_t> after) {
  std::string q = "?limit=" + std::to_string(after ? storage::kMaxQueryLimit : args.count);
  if (after) q += "&after=" + std::to_string(*after);
  if (!args.namespace_name.empty()) {
    q += "&namespace=";
    static const char* hex = "0123456789ABCDEF";
    for (unsigned char c : args.namespace_name) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
        q.push_back(static_cast<char>(c));
      } else {
        q.push_back('%');
        q.push_back(hex[c >> 4]);
        q.push_back(hex[c & 15]);
      }
    }
  }
  return q;
}

std::string text_of(const rapidjson::Value& v, const char* key) {
  if (!v.HasMember(key)) return "";
  const auto& f = v[key];
  if (f.IsString()) return f.GetString();
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  f.Accept(w);
  return buf.GetString();
}

// Prints each record; returns the highest seq printed (or `last` if none), nullopt on a
// bad answer.
std::optional<int64_t> print_records(const std::string& body, bool json, int64_t last) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError() || !doc.IsArray()) {
    std::cerr << "squadbox: unexpected answer: " << body << "\n";
    return std::nullopt;
  }
  for (const auto& r : doc.GetArray()) {
    if (!r.IsObject() || !r.HasMember("seq") || !r["seq"].IsInt64()) continue;
    last = std::max(last, r["seq"].GetInt64());
    if (json) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      r.Accept(w);
      std::cout << buf.GetString() << "\n";
    } else {
      std::cout << r["seq"].GetInt64() << " " << text_of(r, "at") << " " << text_of(r, "actor") << " "
                << text_of(r, "event") << " " << text_of(r, "subject") << " " << text_of(r, "detail") << "\n";
    }
  }
  std::cout << std::flush;
  return last;
}

// true if SIGINT or SIGTERM arrived within `pause`.
bool wait_for_stop_signal(std::chrono::milliseconds pause) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + pause;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    timespec ts{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
    if (::sigtimedwait(&set, nullptr, &ts) > 0) return true;
    if (errno != EINTR) return false;  // EAGAIN: the pause is over
  }
}

int run_tail(const CliContext& ctx, const TailArgs& args) {
  std::optional<int64_t> after;
  int64_t last = 0;
  while (true) {
    auto r =
        call_node(ctx, {"GET", "/api/v1/container/audit" + query_string(args, after), "", std::chrono::seconds(10)});
    if (auto* code = std::get_if<int>(&r)) return *code;
    auto& resp = std::get<ClientResponse>(r);
    if (resp.status != 200) {
      std::cerr << "squadbox: the node answered HTTP " << resp.status << ": " << resp.body << "\n";
      return resp.status == 400 ? kExitUsage : kExitRuntime;
    }
    auto printed = print_records(resp.body, args.json, last);
    if (!printed) return kExitRuntime;
    last = *printed;
    if (!args.follow) return kExitOk;
    after = last;
    // Polling once a second keeps the API stateless; the log is small and indexed by seq.
    // main() blocks SIGINT/SIGTERM in every thread, so the pause between polls is where
    // they are taken: Ctrl-C ends the follow cleanly.
    if (wait_for_stop_signal(std::chrono::seconds(1))) return kExitOk;
  }
}

}  // namespace

void add_audit_commands(CLI::App& app, CliContext& ctx) {
  auto* audit_cmd = app.add_subcommand("audit", "Verify and read the tamper-evident audit log");
  audit_cmd->require_subcommand(1);

  auto verify_args = std::make_shared<VerifyArgs>();
  auto* verify = audit_cmd->add_subcommand(
      "verify", "Check the hash chain in the node's database (read-only; works while the node runs)");
  add_common(verify, ctx.common);
  verify->add_option("--expect-head", verify_args->expect_head,
                     "Also require this head (hex, from an earlier verify) to still be in the chain");
  verify->callback([&ctx, verify_args] { ctx.exit_code = run_verify(ctx, *verify_args); });

  auto tail_args = std::make_shared<TailArgs>();
  auto* tail = audit_cmd->add_subcommand("tail", "Print the newest audit records from the running node");
  tail->add_flag("-f,--follow", tail_args->follow, "Keep printing new records (polls the node once a second)");
  tail->add_option("--namespace", tail_args->namespace_name, "Only records whose detail has \"namespace\": NAME");
  tail->add_option("-n,--count", tail_args->count, "How many of the newest records to print first")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  tail->add_flag("--json", tail_args->json, "One JSON object per line");
  add_client(tail, ctx);
  tail->callback([&ctx, tail_args] { ctx.exit_code = run_tail(ctx, *tail_args); });
}

}  // namespace sb::app::cli
