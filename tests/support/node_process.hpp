#pragma once
// A real `squadbox serve` child on an ephemeral admin port, and `squadbox` CLI runs
// against it (stdin fed through /bin/sh, since ChildProcess has no stdin pipe).
#include <filesystem>
#include <fstream>

#include "runtime/http/client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::test {

using namespace std::chrono_literals;

inline std::string squadbox() {
  return sb::test::bin_dir() + "/squadbox";
}

class NodeProcess {
 public:
  explicit NodeProcess(sb::test::TempDir& dir, std::map<std::string, std::string> env = {})
      : dir_(dir),
        process_(squadbox(), {"serve", "--data-dir", dir.path()}, with_defaults(std::move(env)), dir.file("serve")) {}

  // Waits for the admin URL file and for /readyz to answer 200.
  bool wait_ready() {
    if (!sb::test::wait_until([&] { return std::filesystem::exists(dir_.file("admin.url")); }, 30s)) return false;
    std::ifstream(dir_.file("admin.url")) >> url_;
    return sb::test::wait_until(
        [&] {
          auto r = sb::http::request("GET", url_ + "/readyz", {}, "", 5s);
          return r.ok() && r->status == 200;
        },
        30s);
  }
  sb::Result<sb::http::Response> call(const std::string& method, const std::string& path, std::string body = "") {
    std::string token;
    std::ifstream(dir_.file("admin.token")) >> token;
    sb::http::Headers h{{"Authorization", "Bearer " + token}};
    if (!body.empty()) h.emplace_back("Content-Type", "application/json");
    return sb::http::request(method, url_ + path, h, std::move(body), 10s);
  }
  // SIGTERM and the exit code.
  std::optional<int> stop() {
    process_.signal(SIGTERM);
    return process_.wait(30s);
  }
  sb::test::ChildProcess& process() { return process_; }

 private:
  static std::map<std::string, std::string> with_defaults(std::map<std::string, std::string> env) {
    env.emplace("SQUADBOX_ADMIN_PORT", "0");
    env.emplace("SQUADBOX_LOG_LEVEL", "debug");
    return env;
  }
  sb::test::TempDir& dir_;
  sb::test::ChildProcess process_;
  std::string url_;
};

struct CliRun {
  std::optional<int> code;
  std::string out, err;
};

// Runs `squadbox ARGS` with `input` on stdin (via printf '%s', so bytes are exact).
inline CliRun run_cli(const sb::test::TempDir& dir, const std::string& tag, const std::vector<std::string>& args,
                      const std::optional<std::string>& input = std::nullopt) {
  std::string script = input ? "printf '%s' \"$SB_INPUT\" | \"$SB_BIN\"" : "\"$SB_BIN\" </dev/null";
  std::map<std::string, std::string> env{{"SB_BIN", squadbox()}};
  for (size_t i = 0; i < args.size(); ++i) {
    env["SB_ARG" + std::to_string(i)] = args[i];
    script += " \"$SB_ARG" + std::to_string(i) + "\"";
  }
  if (input) env["SB_INPUT"] = *input;
  sb::test::ChildProcess p("/bin/sh", {"-c", script}, env, dir.file("cli-" + tag));
  CliRun r;
  r.code = p.wait(60s);
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

}  // namespace sb::test
