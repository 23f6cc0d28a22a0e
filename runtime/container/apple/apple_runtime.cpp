#include "runtime/container/apple/apple_runtime.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "runtime/container/apple/apple_args.hpp"
#include "runtime/container/mount_policy.hpp"
#include "runtime/core/fs.hpp"
#include "runtime/core/text.hpp"

namespace sb::container::apple {
namespace {

using Clock = std::chrono::steady_clock;

Error cli_error(const std::vector<std::string>& argv, const CommandResult& r) {
  std::string msg(trim_right(r.err.empty() ? r.out : r.err, "\n\r "));
  if (msg.size() > 500) msg.resize(500);
  return make_error("apple.command_failed", "`container " + (argv.size() > 1 ? argv[1] : "") + "` exited " +
                                                std::to_string(r.exit_code) + ": " + msg);
}

bool mentions_not_found(const CommandResult& r) {
  const std::string all = r.err + r.out;
  return all.find("not found") != std::string::npos || all.find("notFound") != std::string::npos;
}

}  // namespace

Result<CommandResult> run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  UniqueFd out_r, out_w, err_r, err_w;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return make_error("apple.exec", std::string("pipe: ") + std::strerror(errno));
  out_r.reset(p[0]);
  out_w.reset(p[1]);
  if (::pipe2(p, O_CLOEXEC) != 0) return make_error("apple.exec", std::string("pipe: ") + std::strerror(errno));
  err_r.reset(p[0]);
  err_w.reset(p[1]);
  // An exec failure in the child is reported through this CLOEXEC pipe.
  UniqueFd exec_r, exec_w;
  if (::pipe2(p, O_CLOEXEC) != 0) return make_error("apple.exec", std::string("pipe: ") + std::strerror(errno));
  exec_r.reset(p[0]);
  exec_w.reset(p[1]);

  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) return make_error("apple.exec", std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out_w.get(), 1);
    ::dup2(err_w.get(), 2);
    ::execvp(cargv[0], cargv.data());
    const int e = errno;
    [[maybe_unused]] auto n = ::write(exec_w.get(), &e, sizeof e);
    ::_exit(127);
  }
  out_w.reset();
  err_w.reset();
  exec_w.reset();

  int child_errno = 0;
  if (::read(exec_r.get(), &child_errno, sizeof child_errno) == sizeof child_errno) {
    ::waitpid(pid, nullptr, 0);
    return make_error("apple.exec", "cannot run " + argv[0] + ": " + std::strerror(child_errno));
  }

  CommandResult result;
  const auto deadline = Clock::now() + timeout;
  bool timed_out = false;
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    const int n = ::poll(fds, 2, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    return make_error("apple.timeout", argv[0] + " did not finish in " + std::to_string(timeout.count()) + " ms");
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Result<CommandResult> AppleRuntime::exec(const std::vector<std::string>& argv) {
  return run_command(argv, options_.call_timeout);
}

Result<RuntimeVersion> AppleRuntime::version() {
  const auto argv = build_argv(options_.binary, make_call(Op::version));
  auto r = exec(argv);
  if (!r) return r.error();
  if (r->exit_code != 0) return cli_error(argv, *r);
  auto v = parse_version(r->out);
  if (!v) return v.error();
  if (auto ok = check_min_version(*v); !ok) return ok.error();
  return RuntimeVersion{"apple", *v, ""};
}

Result<std::string> AppleRuntime::create(const ContainerSpec& spec) {
  // The CLI resolves host paths itself: each must still lead to the directory
  // MountPolicy checked and pinned (the window left is this one CLI call).
  if (auto same = MountPolicy::reverify(spec.mounts); !same) return same.error();
  AppleCall call = make_call(Op::create);
  call.spec = &spec;
  const auto argv = build_argv(options_.binary, call);
  auto r = exec(argv);
  if (!r) return r.error();
  if (r->exit_code != 0) return cli_error(argv, *r);
  // The name given with --name is the container's id.
  const std::string printed(trim_right(r->out, "\n\r "));
  return printed.empty() || printed.find('\n') != std::string::npos ? spec.name : printed;
}

Status AppleRuntime::start(const std::string& id) {
  AppleCall call = make_call(Op::start);
  call.id = id;
  const auto argv = build_argv(options_.binary, call);
  auto r = exec(argv);
  if (!r) return r.error();
  if (r->exit_code != 0) return cli_error(argv, *r);
  return {};
}

Result<ExitStatus> AppleRuntime::wait(const std::string& id, std::chrono::milliseconds timeout) {
  // No `container wait` in 0.2: poll the snapshot until it stops, within the deadline.
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto info = inspect(id);
    if (!info) return info.error();
    if (info->state == ContainerState::exited) {
      // 0.2 reports no exit code; -1 says "unknown" rather than inventing success.
      return info->exit ? *info->exit : ExitStatus{-1, false, 0};
    }
    if (Clock::now() + options_.poll_interval > deadline) {
      return make_error("container.timeout",
                        "container " + id + " still running after " + std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(options_.poll_interval);  // the poll interval, not an outcome wait
  }
}

Status AppleRuntime::kill(const std::string& id, int signal) {
  AppleCall call = make_call(Op::kill);
  call.id = id;
  call.signal = signal;
  const auto argv = build_argv(options_.binary, call);
  auto r = exec(argv);
  if (!r) return r.error();
  if (r->exit_code != 0) return cli_error(argv, *r);
  return {};
}

Status AppleRuntime::remove(const std::string& id, bool force) {
  AppleCall call = make_call(Op::remove);
  call.id = id;
  call.force = force;
  const auto argv = build_argv(options_.binary, call);
  auto r = exec(argv);
  if (!r) return r.error();
  if (r->exit_code != 0 && !mentions_not_found(*r)) return cli_error(argv, *r);
  return {};
}

Result<std::vector<ContainerInfo>> AppleRuntime::list(const Labels& selector) {
  const auto argv = build_argv(options_.binary, make_call(Op::list));
  auto r = exec(argv);
  if (!r) return r.error();
  if (r->exit_code != 0) return cli_error(argv, *r);
  auto all = parse_snapshots(r->out);
  if (!all) return all.error();
  // The CLI has no label filter: select here.
  std::vector<ContainerInfo> out;
  for (auto& c : *all) {
    bool match = true;
    for (const auto& [k, v] : selector) {
      const auto it = c.labels.find(k);
      match = match && it != c.labels.end() && it->second == v;
    }
    if (match) out.push_back(std::move(c));
  }
  return out;
}

Result<ContainerInfo> AppleRuntime::inspect(const std::string& id) {
  AppleCall call = make_call(Op::inspect);
  call.id = id;
  const auto argv = build_argv(options_.binary, call);
  auto r = exec(argv);
  if (!r) return r.error();
  if (r->exit_code != 0) {
    if (mentions_not_found(*r)) return make_error("container.not_found", "no container " + id);
    return cli_error(argv, *r);
  }
  auto snaps = parse_snapshots(r->out);
  if (!snaps) return snaps.error();
  if (snaps->empty()) return make_error("container.not_found", "no container " + id);
  return std::move((*snaps)[0]);
}

Result<SecurityProfile> AppleRuntime::security_profile(const std::string& id) {
  return make_error("container.unsupported", "the apple backend cannot observe the security profile of '" + id +
                                                 "' (the container CLI does not report capabilities or mounts)");
}

}  // namespace sb::container::apple
