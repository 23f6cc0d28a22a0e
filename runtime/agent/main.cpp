// squadbox-agent: the in-container agent runner (docs/ipc.md).
// Event loop: inotify on input/ + signalfd, both in one poll(); after every wake-up the
// directory is rescanned, so a burst or an inotify queue overflow loses nothing and no
// timer-driven polling is needed.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "runtime/agent/agent_log.hpp"
#include "runtime/agent/exec.hpp"
#include "runtime/agent/llm_turn.hpp"
#include "runtime/agent/proxy_bridge.hpp"
#include "runtime/agent/turn.hpp"
#include "runtime/agent/turn_input.hpp"
#include "runtime/ipc/ipc_fs.hpp"
#include "runtime/ipc/protocol.hpp"

namespace {

using namespace sb;
using sb::agent::log_event;

class Runner {
 public:
  Runner(agent::Config cfg, int sigfd) : cfg_(std::move(cfg)), sigfd_(sigfd) {}

  std::string dir(std::string_view sub) const { return cfg_.ipc_dir + "/" + std::string(sub); }

  // True once SIGTERM/SIGINT arrived; checked between messages so the current one finishes.
  bool stop_requested() {
    if (stop_) return true;
    signalfd_siginfo si{};
    if (::read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      log_event("info", "agent.signal", {{"signo", std::to_string(si.ssi_signo)}});
      stop_ = true;
    }
    return stop_;
  }

  void run_turn(const ipc::InputMessage& in) {
    auto start = std::chrono::steady_clock::now();
    // echo: the received text, readable (the host's turn markup becomes `sender: text`).
    Result<std::string> reply = agent::readable_turn_input(in.text);
    if (cfg_.mode == agent::Mode::exec) {
      reply = agent::run_command(cfg_.command, ipc::encode(in), cfg_.max_bytes);
      if (reply) reply = agent::reply_from_stdout(std::move(reply.value()));
    } else if (cfg_.mode == agent::Mode::llm) {
      reply = agent::run_llm_turn(cfg_.llm, cfg_.proxy, {cfg_.ipc_dir, cfg_.max_bytes, &namer_}, in);
    }
    bool ok = true;
    for (const auto& p : agent::turn_outputs(in, reply, cfg_.max_bytes, cfg_.mode == agent::Mode::llm)) {
      if (auto* d = std::get_if<ipc::TurnDone>(&p)) ok = d->ok;
      auto box = ipc::box_of(p);
      auto st = ipc::write_payload(dir(ipc::box_dir(box)), namer_, ipc::encode(p));
      if (!st) log_event("error", "agent.write_failed", {{"error", st.error().message}});
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    log_event(ok ? "info" : "warn", "agent.turn",
              {{"id", in.id},
               {"status", ok ? "ok" : "error"},
               {"duration_us", std::to_string(us.count())},
               {"error", reply ? "" : reply.error().message}});
  }

  void process_file(const std::string& name) {
    std::string path = dir(ipc::kInputDir) + "/" + name;
    auto bytes = ipc::read_bounded(path, cfg_.max_bytes);
    if (!bytes && bytes.error().code == "ipc.gone") return;
    Result<ipc::Payload> payload =
        bytes ? ipc::decode(ipc::Box::input, bytes.value(), cfg_.max_bytes) : Result<ipc::Payload>(bytes.error());
    if (!payload) {
      const auto& e = payload.error();
      log_event("warn", "agent.input_rejected", {{"file", name}, {"code", e.code}, {"error", e.message}});
      auto st = ipc::reject_file(cfg_.ipc_dir, ipc::Box::input, name, e.code + ": " + e.message);
      if (!st) log_event("error", "agent.reject_failed", {{"error", st.error().message}});
      return;
    }
    // Claim the input before the turn: redelivery after a crash is the host's job (it
    // re-sends inputs that never got a turn_done), so the agent never runs a turn twice.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      log_event("error", "agent.unlink_failed", {{"file", name}, {"errno", std::to_string(errno)}});
      return;  // not claimed, so not run; the caller sees the file still there
    }
    run_turn(std::get<ipc::InputMessage>(payload.value()));
  }

  int run() {
    for (auto sub : {ipc::kInputDir, ipc::kMessagesDir, ipc::kTasksDir, ipc::kErrorsDir})
      ::mkdir(dir(sub).c_str(), 0700);  // normally made by the host; EEXIST is fine

    // Watch before the first scan so nothing written in between is missed.
    UniqueFd ino(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!ino.valid() ||
        ::inotify_add_watch(ino.get(), dir(ipc::kInputDir).c_str(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) < 0) {
      log_event("error", "agent.inotify_failed", {{"dir", dir(ipc::kInputDir)}, {"errno", std::to_string(errno)}});
      return 1;
    }
    log_event("info", "agent.start",
              {{"ipc_dir", cfg_.ipc_dir},
               {"mode", std::string(agent::mode_name(cfg_.mode))},
               {"oneshot", cfg_.oneshot ? "true" : "false"},
               {"uid", std::to_string(::getuid())}});
    // The bridge lives until run() returns, so a command still using it during the last
    // turn (exec mode, an SDK pointed at 127.0.0.1:PORT) keeps working until the turn ends.
    if (cfg_.proxy.port) {
      auto bridge = agent::ProxyBridge::start({cfg_.proxy.socket, *cfg_.proxy.port});
      if (!bridge) {
        log_event("error", "agent.bridge_failed", {{"error", bridge.error().message}});
        return 1;
      }
      bridge_ = std::move(*bridge);
      // With port 0 (any free port) the commands this agent runs learn the real one.
      if (*cfg_.proxy.port == 0) ::setenv("SQUADBOX_PROXY_PORT", std::to_string(bridge_->port()).c_str(), 1);
      log_event("info", "agent.bridge_listening",
                {{"port", std::to_string(bridge_->port())}, {"socket", cfg_.proxy.socket}});
    }

    if (cfg_.prompt) {
      run_turn(ipc::InputMessage{std::string(agent::kPromptId), *cfg_.prompt, std::nullopt});
      if (cfg_.oneshot) return finish("oneshot");
    }
    const std::string close_path = dir(ipc::kInputDir) + "/" + std::string(ipc::kCloseSentinel);
    while (true) {
      if (stop_requested()) return finish("signal");
      // _close is checked before listing: every input written before it is then listed.
      bool closing = ipc::file_exists(close_path);
      auto names = ipc::list_payloads(dir(ipc::kInputDir));
      if (!names) {
        log_event("error", "agent.scan_failed", {{"error", names.error().message}});
        return 1;
      }
      for (const auto& n : names.value()) {
        if (stop_requested()) return finish("signal");
        process_file(n);
        // A file we could neither claim nor move (input/ not writable for us) would be
        // listed again forever: a misconfigured mount, so fail loudly instead of spinning.
        if (ipc::file_exists(dir(ipc::kInputDir) + "/" + n)) {
          log_event("error", "agent.input_stuck", {{"file", n}, {"hint", "input/ must be writable by the agent uid"}});
          return 1;
        }
      }
      if (closing) {
        ::unlink(close_path.c_str());  // consumed: a later run in this dir starts clean
        return finish("close");
      }
      if (!names.value().empty()) continue;  // more may have arrived while we worked
      if (cfg_.oneshot) return finish("oneshot");

      pollfd fds[2] = {{ino.get(), POLLIN, 0}, {sigfd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return 1;
      // The events only say "look again": drain them, the rescan finds the files.
      alignas(inotify_event) char buf[16384];
      while (::read(ino.get(), buf, sizeof buf) > 0) {
      }
    }
  }

 private:
  int finish(const char* why) {
    log_event("info", "agent.exit", {{"reason", why}, {"code", "0"}});
    return 0;
  }

  agent::Config cfg_;
  int sigfd_;
  bool stop_ = false;
  ipc::Namer namer_;
  std::unique_ptr<agent::ProxyBridge> bridge_;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto cfg = agent::parse_config([](const char* k) { return std::getenv(k); }, args);
  if (!cfg) {
    log_event("error", "agent.config_invalid", {{"code", cfg.error().code}, {"error", cfg.error().message}});
    return 2;
  }
  // SIGTERM/SIGINT become readable events: the current turn always completes, and as
  // pid 1 in a container (where default dispositions are ignored) they still work.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a command closing stdin early must not kill us
  sb::UniqueFd sigfd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!sigfd.valid()) {
    log_event("error", "agent.signalfd_failed", {{"errno", std::to_string(errno)}});
    return 1;
  }
  Runner r(std::move(cfg.value()), sigfd.get());
  return r.run();
}
