// sb_syscall_probe NAME: makes one raw syscall inside a container and exits with its errno
// (0: it succeeded). Static, without the sanitizers, so that it runs in the busybox test
// image (tests/runtime/container/oci/confinement_crun_test.cpp). No libc wrapper is
// trusted to reach the kernel: glibc's own fallbacks (clone3 -> clone) would hide what
// the filter does.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

long probe(const std::string& name) {
  if (name == "keyctl") return syscall(SYS_keyctl, 0 /*KEYCTL_GET_KEYRING_ID*/, -4 /*KEY_SPEC_USER_KEYRING*/, 0);
  if (name == "add_key") return syscall(SYS_add_key, "user", "sb-probe", "x", 1, -4);
  if (name == "unshare_user") return syscall(SYS_unshare, CLONE_NEWUSER);
  if (name == "clone_user") {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return pid < 0 ? -1 : 0;
  }
  if (name == "clone3") {
    struct {
      unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    } args{};
    args.exit_signal = SIGCHLD;
    long pid = syscall(435 /*SYS_clone3*/, &args, sizeof args);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return pid < 0 ? -1 : 0;
  }
  if (name == "fork") {
    long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return pid < 0 ? -1 : 0;
  }
  if (name == "mount") return syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, nullptr);
  // Without OPEN_TREE_CLONE open_tree needs no privilege (an O_PATH-like fd): only the
  // filter refuses it, unlike mount(), which the missing CAP_SYS_ADMIN refuses anyway.
  if (name == "open_tree") return syscall(428 /*SYS_open_tree*/, AT_FDCWD, "/", 0);
  if (name == "setns") return syscall(SYS_setns, 0, 0);
  if (name == "bpf") return syscall(SYS_bpf, 0, nullptr, 0);
  if (name == "io_uring_setup") return syscall(425 /*SYS_io_uring_setup*/, 1, nullptr);
  if (name == "ptrace") return syscall(SYS_ptrace, 16 /*PTRACE_ATTACH*/, 1, 0, 0);
  if (name.rfind("personality=", 0) == 0)
    return syscall(SYS_personality, std::strtoul(name.c_str() + 12, nullptr, 0)) == -1 ? -1 : 0;
  std::fprintf(stderr, "unknown probe %s\n", name.c_str());
  std::exit(255);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 254;
  errno = 0;
  long r = probe(argv[1]);
  int e = r < 0 ? errno : 0;
  std::printf("%s: %ld errno %d (%s)\n", argv[1], r, e, std::strerror(e));
  return e;
}
