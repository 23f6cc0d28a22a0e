#include "runtime/agent/tools/bash_tool.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "runtime/agent/agent_loop.hpp"
#include "runtime/core/fs.hpp"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

namespace sb::agent {
namespace {

using Clock = std::chrono::steady_clock;

int ms_until(Clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return ms <= 0 ? 0 : static_cast<int>(std::min<long long>(ms, 1 << 30));
}

[[noreturn]] void child(const BashRequest& req, int out_fd) {
  // The agent blocks SIGTERM (signalfd) and ignores SIGPIPE: the command starts clean.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  ::setsid();  // own session and process group: the timeout kills all of it
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) ::dup2(devnull, 0);
  ::dup2(out_fd, 1);
  ::dup2(out_fd, 2);
  if (::chdir(req.cwd.c_str()) != 0) {
    const char msg[] = "squadbox-agent: cannot enter the workspace\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(126);
  }
  ::execl("/bin/sh", "sh", "-c", req.command.c_str(), static_cast<char*>(nullptr));
  const char msg[] = "squadbox-agent: cannot run /bin/sh\n";
  (void)!::write(2, msg, sizeof msg - 1);
  ::_exit(127);
}

// As pid 1 of a container the agent inherits every orphan of the commands it ran.
void reap_orphans() {
  if (::getpid() != 1) return;
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace

ToolResult run_bash(const BashRequest& req) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return {std::string("cannot create a pipe: ") + std::strerror(errno), true};
  UniqueFd out_r(p[0]), out_w(p[1]);
  const auto start = Clock::now();
  const auto deadline = start + req.timeout;
  pid_t pid = ::fork();
  if (pid < 0) return {std::string("cannot fork: ") + std::strerror(errno), true};
  if (pid == 0) child(req, out_w.get());
  out_w.reset();
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));  // -1 on old kernels: waitpid polling

  std::string out;
  std::size_t total = 0;
  bool exited = false, timed_out = false;
  int status = 0;
  auto drain = [&] {  // false at EOF
    char buf[65536];
    while (true) {
      ssize_t n = ::read(out_r.get(), buf, sizeof buf);
      if (n > 0) {
        total += static_cast<std::size_t>(n);
        if (out.size() < req.output_max_bytes)
          out.append(buf, std::min(static_cast<std::size_t>(n), req.output_max_bytes - out.size()));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return !(n == 0 || errno != EAGAIN);
    }
  };
  auto try_reap = [&] {
    if (exited) return;
    pid_t r;
    do r = ::waitpid(pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    exited = r == pid;
  };

  while (!exited) {
    if (Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_r.valid() ? out_r.get() : -1, POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    int wait_ms = ms_until(deadline);
    if (!pidfd.valid()) wait_ms = std::min(wait_ms, 10);
    if (::poll(fds, 2, wait_ms) < 0 && errno != EINTR) break;
    if (fds[0].revents && !drain()) out_r.reset();
    if (fds[1].revents || !pidfd.valid()) try_reap();
  }
  ::kill(-pid, SIGKILL);              // the group: timed-out shell, children, grandchildren
  if (!exited) ::kill(pid, SIGKILL);  // in case it had not reached setsid() yet
  if (!exited) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  // The group is gone only once its last member is reaped: as pid 1 of a container the
  // agent inherits the killed background jobs, and until it reaps them they are zombies
  // that the next command still sees (`kill -0` succeeds). Bounded: a member that left the
  // group with setsid() is not ours to wait for.
  const auto reap_until = Clock::now() + std::chrono::milliseconds(500);
  while (Clock::now() < reap_until) {
    while (::waitpid(-pid, nullptr, WNOHANG) > 0) {
    }
    if (::kill(-pid, 0) != 0 && errno == ESRCH) break;
    ::poll(nullptr, 0, 2);
  }
  // The rest of the output: the shell's last words, and what the killed group wrote
  // before dying. Bounded, as a process that left the group may hold the pipe.
  if (out_r.valid()) {
    const auto until = Clock::now() + std::chrono::milliseconds(200);
    while (drain()) {
      pollfd f{out_r.get(), POLLIN, 0};
      if (::poll(&f, 1, ms_until(until)) <= 0) break;
    }
  }
  reap_orphans();

  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  std::string text = out.empty() ? std::string() : cap_tool_output(out, req.output_max_bytes, total);
  if (!text.empty() && text.back() != '\n') text += '\n';
  if (timed_out) return {text + "[killed after " + std::to_string(ms) + " ms (timeout)]", true};
  if (WIFSIGNALED(status)) return {text + "[killed by signal " + std::to_string(WTERMSIG(status)) + "]", false};
  // A non-zero exit is information for the model, not a failed tool call.
  return {text + "[exit code " + std::to_string(WEXITSTATUS(status)) + "]", false};
}

}  // namespace sb::agent
