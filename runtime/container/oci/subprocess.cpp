#include "runtime/container/oci/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "runtime/core/fs.hpp"
#include "runtime/core/text.hpp"

extern char** environ;

namespace sb::container::oci {
namespace {

struct Pipe {
  UniqueFd read, write;
  static bool make(Pipe& p) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    p.read = UniqueFd(fds[0]);
    p.write = UniqueFd(fds[1]);
    return true;
  }
};

// posix_spawn file actions with RAII.
struct FileActions {
  posix_spawn_file_actions_t fa;
  FileActions() { posix_spawn_file_actions_init(&fa); }
  ~FileActions() { posix_spawn_file_actions_destroy(&fa); }
};

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string ProcessResult::describe(const std::string& tool) const {
  std::string text(trim_right(err.empty() ? out : err, "\n\r "));
  constexpr size_t kMax = 2000;  // keep error messages readable
  if (text.size() > kMax) text = "..." + text.substr(text.size() - kMax);
  return tool + " exited with " + std::to_string(exit_code) + (text.empty() ? "" : ": " + text);
}

Result<ProcessResult> run_process(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return make_error("process.spawn_failed", "empty argv");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  Pipe out, err;
  UniqueFd file;
  FileActions fa;
  posix_spawn_file_actions_addopen(&fa.fa, 0, "/dev/null", O_RDONLY, 0);
  if (options.output_file) {
    file = UniqueFd(::open(options.output_file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (file.get() < 0)
      return make_error("process.spawn_failed", "cannot open " + *options.output_file + ": " + std::strerror(errno));
    posix_spawn_file_actions_adddup2(&fa.fa, file.get(), 1);
    posix_spawn_file_actions_adddup2(&fa.fa, file.get(), 2);
  } else {
    if (!Pipe::make(out) || !Pipe::make(err))
      return make_error("process.spawn_failed", std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_adddup2(&fa.fa, out.write.get(), 1);
    posix_spawn_file_actions_adddup2(&fa.fa, err.write.get(), 2);
  }

  // The child starts with default signal dispositions and an empty mask, whatever the
  // broker's threads have blocked.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &fa.fa, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return make_error("process.spawn_failed", argv[0] + ": " + std::strerror(rc));
  out.write.reset();
  err.write.reset();
  file.reset();

  ProcessResult result;
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool timed_out = false;
  std::array<char, 4096> buf;
  while (out.read.get() >= 0 || err.read.get() >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    UniqueFd* pipes[2] = {&out.read, &err.read};
    std::string* sinks[2] = {&result.out, &result.err};
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t r = ::read(fds[i].fd, buf.data(), buf.size());
      if (r > 0)
        sinks[i]->append(buf.data(), static_cast<size_t>(r));
      else if (r == 0 || errno != EINTR)
        pipes[i]->reset();
    }
  }

  int status = 0;
  if (options.output_file) {
    // No pipes to watch: wait on a pidfd for the child's exit until the deadline.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    while (true) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) break;
      if (w < 0 && errno != EINTR)
        return make_error("process.spawn_failed", std::string("waitpid: ") + std::strerror(errno));
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      pollfd pfd{pidfd.get(), POLLIN, 0};
      if (pidfd.get() < 0)
        ::usleep(1000);  // no pidfd (old kernel): short naps
      else
        ::poll(&pfd, 1, static_cast<int>(left.count()));
    }
    if (!timed_out) {
      result.exit_code = decode(status);
      return result;
    }
  }
  if (timed_out) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return make_error("process.timeout",
                      argv[0] + " did not finish within " + std::to_string(options.timeout.count()) + " ms");
  }
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return make_error("process.spawn_failed", std::string("waitpid: ") + std::strerror(errno));
  }
  result.exit_code = decode(status);
  return result;
}

}  // namespace sb::container::oci
