#pragma once
// The default seccomp profile of the oci backend, as plain data (no I/O): oci_config
// writes it into config.json's linux.seccomp, and tests evaluate it.
//
// Shape: default action ALLOW, plus an explicit deny list (errno EPERM) of the syscalls
// Docker's default profile keeps from an unprivileged container: new user namespaces
// (unshare/clone with CLONE_NEWUSER; clone3 answers ENOSYS so that glibc falls back to
// clone, where the flag can be checked), setns, keyrings, bpf, userfaultfd,
// perf_event_open, the mount API, kexec, ptrace and process_vm_*, modules, reboot, swap,
// acct, quotas, file handles, raw I/O ports, syslog, the clock, chroot, io_uring, ...
// and personality() with anything but Docker's five allowed values.
// docs/security.md "Container confinement" says why a deny list and not an allow list.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::container::oci {

// OCI runtime-spec names (linux.seccomp.syscalls[].args[].op).
enum class SeccompOp { equal, masked_equal };

// One argument condition. masked_equal: (arg[index] & value) == value_two.
struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  SeccompOp op = SeccompOp::equal;
};

// Deny `names` with `errno_ret` when every condition in `args` holds (none: always).
// Like runc and crun, conditions on the same argument index would be OR'ed, so every
// rule here has at most one condition.
struct SeccompRule {
  std::vector<std::string> names;
  int errno_ret = 1;  // EPERM
  std::vector<SeccompArg> args;
};

struct SeccompProfile {
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", ...
  std::vector<SeccompRule> rules;          // default action: allow
};

inline constexpr uint64_t kCloneNewUser = 0x10000000;  // CLONE_NEWUSER

// The profile every oci container gets.
const SeccompProfile& default_seccomp_profile();

// Every syscall the profile denies without a condition.
std::vector<std::string> unconditionally_denied(const SeccompProfile& profile);

// What the filter does with `syscall(args...)` (missing args are 0): the errno it
// answers with, or nullopt when the call is allowed. A model of the filter for tests.
std::optional<int> seccomp_verdict(const SeccompProfile& profile, std::string_view syscall,
                                   const std::vector<uint64_t>& args = {});

const char* seccomp_op_name(SeccompOp op);

}  // namespace sb::container::oci
