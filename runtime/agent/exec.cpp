#include "runtime/agent/exec.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "runtime/core/fs.hpp"

namespace sb::agent {

Result<std::string> run_command(const std::vector<std::string>& argv, std::string_view stdin_data,
                                std::size_t max_out) {
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return make_error("exec.failed", "pipe failed");
  UniqueFd in_r(in_pipe[0]), in_w(in_pipe[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return make_error("exec.failed", "pipe failed");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);

  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return make_error("exec.failed", std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // The agent blocks SIGTERM (signalfd) and ignores SIGPIPE: the command starts clean.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::execvp(cargv[0], cargv.data());
    const char msg[] = "squadbox-agent: exec failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  in_r.reset();
  out_w.reset();
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);

  // Feed stdin and drain stdout together, so a command that answers before reading
  // all of its input cannot deadlock us on a full pipe.
  std::string out;
  bool too_big = false;
  size_t written = 0;
  if (stdin_data.empty()) in_w.reset();
  while (out_r.valid()) {
    pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {in_w.valid() ? in_w.get() : -1, POLLOUT, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) {
      ssize_t n = ::write(in_w.get(), stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_data.size())
        in_w.reset();  // done, or the command closed its stdin (EPIPE): stop feeding
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = ::read(out_r.get(), buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        out_r.reset();
        break;
      }
      if (out.size() + static_cast<size_t>(n) > max_out)
        too_big = true;
      else
        out.append(buf, static_cast<size_t>(n));
    }
  }
  in_w.reset();
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(st)) return make_error("exec.failed", "command killed by signal " + std::to_string(WTERMSIG(st)));
  if (WEXITSTATUS(st) != 0)
    return make_error("exec.failed", "command exited with status " + std::to_string(WEXITSTATUS(st)));
  if (too_big) return make_error("exec.failed", "command output exceeds " + std::to_string(max_out) + " bytes");
  return out;
}

}  // namespace sb::agent
