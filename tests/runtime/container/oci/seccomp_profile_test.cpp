// The default seccomp profile as data: what it denies, what it must leave alone, and the
// personality() rules checked value by value against a model of the filter.
#include "runtime/container/oci/seccomp_profile.hpp"

#include <algorithm>
#include <cerrno>

#include <gtest/gtest.h>

namespace sb::container::oci {
namespace {

const SeccompProfile& profile() {
  return default_seccomp_profile();
}

TEST(SeccompProfile, DeniesWhatDockersDefaultDenies) {
  for (const char* name : {"setns",
                           "keyctl",
                           "add_key",
                           "request_key",
                           "bpf",
                           "userfaultfd",
                           "perf_event_open",
                           "mount",
                           "umount2",
                           "pivot_root",
                           "move_mount",
                           "open_tree",
                           "fsopen",
                           "fsmount",
                           "fsconfig",
                           "fspick",
                           "mount_setattr",
                           "kexec_load",
                           "kexec_file_load",
                           "ptrace",
                           "process_vm_readv",
                           "process_vm_writev",
                           "init_module",
                           "finit_module",
                           "delete_module",
                           "reboot",
                           "swapon",
                           "swapoff",
                           "acct",
                           "quotactl",
                           "lookup_dcookie",
                           "io_uring_setup",
                           "io_uring_enter",
                           "io_uring_register",
                           "open_by_handle_at",
                           "name_to_handle_at",
                           "iopl",
                           "ioperm",
                           "syslog",
                           "settimeofday",
                           "clock_settime",
                           "adjtimex",
                           "chroot",
                           "vhangup",
                           "nfsservctl"}) {
    EXPECT_EQ(seccomp_verdict(profile(), name), EPERM) << name;
    const auto denied = unconditionally_denied(profile());
    EXPECT_NE(std::find(denied.begin(), denied.end(), name), denied.end()) << name;
  }
}

TEST(SeccompProfile, NewUserNamespacesOnlyAreDenied) {
  EXPECT_EQ(seccomp_verdict(profile(), "unshare", {kCloneNewUser}), EPERM);
  EXPECT_EQ(seccomp_verdict(profile(), "unshare", {kCloneNewUser | 0x40000000 /*NEWNET*/}), EPERM);
  EXPECT_EQ(seccomp_verdict(profile(), "clone", {kCloneNewUser | 17 /*SIGCHLD*/}), EPERM);
  // fork() and threads (clone without CLONE_NEWUSER) and unshare(CLONE_FS) stay allowed.
  EXPECT_EQ(seccomp_verdict(profile(), "clone", {17}), std::nullopt);
  EXPECT_EQ(seccomp_verdict(profile(), "clone", {0x3d0f00 /*pthread_create's flags*/}), std::nullopt);
  EXPECT_EQ(seccomp_verdict(profile(), "unshare", {0x200 /*CLONE_FS*/}), std::nullopt);
  // clone3's flags are out of the filter's reach: ENOSYS, so glibc falls back to clone.
  EXPECT_EQ(seccomp_verdict(profile(), "clone3"), ENOSYS);
}

TEST(SeccompProfile, PersonalityAllowsExactlyDockersValues) {
  for (uint64_t v : {0x0ull, 0x8ull, 0x20000ull, 0x20008ull, 0xffffffffull, 0x100000008ull /*upper bits ignored*/})
    EXPECT_EQ(seccomp_verdict(profile(), "personality", {v}), std::nullopt) << std::hex << v;
  for (uint64_t v : {0x0400000ull /*READ_IMPLIES_EXEC*/, 0x0040000ull /*ADDR_NO_RANDOMIZE*/, 0x0100000ull, 0x0200000ull,
                     0x1ull, 0x7fffffffull, 0xfffffff7ull, 0xfffdffffull, 0x80000000ull, 0x100400000ull, 0x0420008ull})
    EXPECT_EQ(seccomp_verdict(profile(), "personality", {v}), EPERM) << std::hex << v;
  // Every single bit but 3 and 17, alone and with 3 and 17 set.
  for (unsigned b = 0; b < 32; ++b) {
    if (b == 3 || b == 17) continue;
    EXPECT_EQ(seccomp_verdict(profile(), "personality", {uint64_t{1} << b}), EPERM) << b;
    EXPECT_EQ(seccomp_verdict(profile(), "personality", {(uint64_t{1} << b) | 0x20008}), EPERM) << b;
  }
}

TEST(SeccompProfile, EveryRuleHasAtMostOneConditionPerArgument) {
  // crun and runc OR the conditions on one argument index: a rule with two would deny
  // far more than it says.
  for (const auto& r : profile().rules) {
    std::vector<unsigned> seen;
    for (const auto& a : r.args) {
      EXPECT_EQ(std::count(seen.begin(), seen.end(), a.index), 0) << r.names.front();
      seen.push_back(a.index);
    }
  }
}

TEST(SeccompProfile, OrdinarySyscallsAreAllowed) {
  for (const char* name : {"read", "write", "openat", "execve", "mmap", "futex", "socket", "connect", "wait4", "prctl",
                           "getuid", "clock_gettime", "kill"})
    EXPECT_EQ(seccomp_verdict(profile(), name), std::nullopt) << name;
}

TEST(SeccompProfile, ArchitecturesOfDockersProfileAndArm) {
  const auto& a = profile().architectures;
  for (const char* arch : {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"})
    EXPECT_NE(std::find(a.begin(), a.end(), arch), a.end()) << arch;
}

}  // namespace
}  // namespace sb::container::oci
