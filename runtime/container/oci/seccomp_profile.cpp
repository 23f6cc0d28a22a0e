#include "runtime/container/oci/seccomp_profile.hpp"

#include <algorithm>
#include <cerrno>

namespace sb::container::oci {
namespace {

// Denied outright (EPERM), grouped by why. A name the kernel or libseccomp does not know
// for an architecture (vm86 on x86_64) is skipped by crun for that architecture.
const std::vector<std::string> kDenied = {
    // Namespaces: entering another one.
    "setns",
    // Kernel keyrings: keyed by host uid, a cross-container channel and a credential store.
    "keyctl", "add_key", "request_key",
    // Large kernel attack surfaces an agent never needs.
    "bpf", "userfaultfd", "perf_event_open",
    // io_uring: a frequent source of kernel LPEs, and its operations bypass this filter
    // (an io_uring request is not a syscall). Docker's profile drops it too (moby 25).
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    // Mounts, old and new API, and changing the root.
    "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsmount", "fsconfig",
    "fspick", "mount_setattr",
    // Kernel images, modules, reboot, swap, accounting, quotas.
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms",
    "query_module", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
    // Other processes' memory.
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    // File handles (open_by_handle_at was the "shocker" container escape).
    "open_by_handle_at", "name_to_handle_at",
    // Raw I/O ports, the kernel log, the clock.
    "iopl", "ioperm", "syslog", "settimeofday", "stime", "clock_settime", "clock_settime64", "adjtimex",
    "clock_adjtime", "clock_adjtime64",
    // Obsolete or host-wide.
    "vhangup", "nfsservctl", "lookup_dcookie", "uselib", "ustat", "sysfs", "_sysctl", "vm86", "vm86old",
    "fanotify_init"};

// personality(): Docker allows exactly 0 (PER_LINUX), 8 (PER_LINUX32), 0x20000 (UNAME26),
// 0x20008 and 0xffffffff (query); the rest (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, ...)
// weakens the process's own hardening. With a default-allow filter the complement of
// those five values is written as masked rules over the low 32 bits (the kernel takes an
// unsigned int; whatever sits above is ignored by both): with C = every bit but 3 and 17,
// - C neither all 0 nor all 1: somewhere (cyclically over C) a set bit is followed by a
//   clear one, one rule per such pair (30 rules);
// - C all 1 and bit 3 or bit 17 clear: two rules.
// 0, 8, 0x20000, 0x20008 (C all 0) and 0xffffffff (everything set) match none.
std::vector<SeccompRule> personality_rules() {
  std::vector<unsigned> core;
  for (unsigned b = 0; b < 32; ++b)
    if (b != 3 && b != 17) core.push_back(b);
  uint64_t all_core = 0;
  for (unsigned b : core) all_core |= uint64_t{1} << b;
  std::vector<SeccompRule> out;
  for (size_t k = 0; k < core.size(); ++k) {
    const uint64_t set = uint64_t{1} << core[k];
    const uint64_t clear = uint64_t{1} << core[(k + 1) % core.size()];
    out.push_back({{"personality"}, EPERM, {{0, set | clear, set, SeccompOp::masked_equal}}});
  }
  for (unsigned b : {3u, 17u})
    out.push_back({{"personality"}, EPERM, {{0, all_core | (uint64_t{1} << b), all_core, SeccompOp::masked_equal}}});
  return out;
}

SeccompProfile make_default() {
  SeccompProfile p;
  // x86_64 with its 32-bit (x86) and x32 ABIs, as Docker lists them; aarch64 with arm.
  // A process cannot dodge the filter by switching ABI: each listed ABI is filtered, and
  // libseccomp kills calls of an unlisted one.
  p.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
  p.rules.push_back({kDenied, EPERM, {}});
  // clone3 passes its flags in a struct the filter cannot read: ENOSYS makes glibc fall
  // back to clone(), whose flags are checked below (Docker does the same).
  p.rules.push_back({{"clone3"}, ENOSYS, {}});
  // A new user namespace is the door to CAP_SYS_ADMIN over fresh namespaces (nf_tables,
  // overlayfs, ... LPEs). Other CLONE_NEW* flags need capabilities the container lacks.
  p.rules.push_back({{"clone", "unshare"}, EPERM, {{0, kCloneNewUser, kCloneNewUser, SeccompOp::masked_equal}}});
  for (auto& r : personality_rules()) p.rules.push_back(std::move(r));
  return p;
}

bool holds(const SeccompArg& a, const std::vector<uint64_t>& args) {
  const uint64_t v = a.index < args.size() ? args[a.index] : 0;
  switch (a.op) {
    case SeccompOp::equal: return v == a.value;
    case SeccompOp::masked_equal: return (v & a.value) == a.value_two;
  }
  return false;
}

}  // namespace

const SeccompProfile& default_seccomp_profile() {
  static const SeccompProfile profile = make_default();
  return profile;
}

std::vector<std::string> unconditionally_denied(const SeccompProfile& profile) {
  std::vector<std::string> out;
  for (const auto& r : profile.rules)
    if (r.args.empty()) out.insert(out.end(), r.names.begin(), r.names.end());
  return out;
}

std::optional<int> seccomp_verdict(const SeccompProfile& profile, std::string_view syscall,
                                   const std::vector<uint64_t>& args) {
  for (const auto& r : profile.rules) {
    if (std::find(r.names.begin(), r.names.end(), syscall) == r.names.end()) continue;
    if (std::all_of(r.args.begin(), r.args.end(), [&](const SeccompArg& a) { return holds(a, args); }))
      return r.errno_ret;
  }
  return std::nullopt;
}

const char* seccomp_op_name(SeccompOp op) {
  switch (op) {
    case SeccompOp::equal: return "SCMP_CMP_EQ";
    case SeccompOp::masked_equal: return "SCMP_CMP_MASKED_EQ";
  }
  return "SCMP_CMP_EQ";
}

}  // namespace sb::container::oci
