#pragma once
// What a running container really is, as observed by its backend (not what we asked
// for): privileges, capabilities, namespaces shared with the host, host mounts. The
// periodic security audit (runtime/container/scan/) compares it with the approved run.
// Header-only plain data plus the Linux capability names, so every backend can use it
// without another library.
#include <array>
#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sb::container {

struct ObservedMount {
  std::string source;       // host path (as the node sees it); "dev:root" if it cannot be named
  std::string destination;  // path inside the container
  bool read_write = false;
  std::string type;  // "bind", "volume" (docker), or the filesystem type (oci)
  // Other host paths that show the same directory (the host has it bind-mounted
  // elsewhere too); an approved mount may name any of them.
  std::vector<std::string> aliases = {};
};

struct SecurityProfile {
  bool privileged = false;             // docker --privileged, or every capability effective
  std::set<std::string> capabilities;  // "CAP_SYS_ADMIN": effective, permitted or ambient
  std::set<std::string> bounding;      // what the process (or a setuid program) could still gain
  bool no_new_privileges = false;
  std::set<std::string> host_namespaces;  // shared with the node: "pid","net","ipc","uts","mnt","user","cgroup"
  std::vector<ObservedMount> mounts;      // host filesystems only; never the image rootfs
};

// Linux capability numbers 0..40 (linux/capability.h, kernel 5.9+).
inline constexpr std::array<std::string_view, 41> kCapabilityNames = {"CAP_CHOWN",
                                                                      "CAP_DAC_OVERRIDE",
                                                                      "CAP_DAC_READ_SEARCH",
                                                                      "CAP_FOWNER",
                                                                      "CAP_FSETID",
                                                                      "CAP_KILL",
                                                                      "CAP_SETGID",
                                                                      "CAP_SETUID",
                                                                      "CAP_SETPCAP",
                                                                      "CAP_LINUX_IMMUTABLE",
                                                                      "CAP_NET_BIND_SERVICE",
                                                                      "CAP_NET_BROADCAST",
                                                                      "CAP_NET_ADMIN",
                                                                      "CAP_NET_RAW",
                                                                      "CAP_IPC_LOCK",
                                                                      "CAP_IPC_OWNER",
                                                                      "CAP_SYS_MODULE",
                                                                      "CAP_SYS_RAWIO",
                                                                      "CAP_SYS_CHROOT",
                                                                      "CAP_SYS_PTRACE",
                                                                      "CAP_SYS_PACCT",
                                                                      "CAP_SYS_ADMIN",
                                                                      "CAP_SYS_BOOT",
                                                                      "CAP_SYS_NICE",
                                                                      "CAP_SYS_RESOURCE",
                                                                      "CAP_SYS_TIME",
                                                                      "CAP_SYS_TTY_CONFIG",
                                                                      "CAP_MKNOD",
                                                                      "CAP_LEASE",
                                                                      "CAP_AUDIT_WRITE",
                                                                      "CAP_AUDIT_CONTROL",
                                                                      "CAP_SETFCAP",
                                                                      "CAP_MAC_OVERRIDE",
                                                                      "CAP_MAC_ADMIN",
                                                                      "CAP_SYSLOG",
                                                                      "CAP_WAKE_ALARM",
                                                                      "CAP_BLOCK_SUSPEND",
                                                                      "CAP_AUDIT_READ",
                                                                      "CAP_PERFMON",
                                                                      "CAP_BPF",
                                                                      "CAP_CHECKPOINT_RESTORE"};

// "CAP_SYS_ADMIN" for 21; "CAP_41" for a number newer than this table.
inline std::string capability_name(int bit) {
  if (bit >= 0 && bit < static_cast<int>(kCapabilityNames.size()))
    return std::string(kCapabilityNames[static_cast<size_t>(bit)]);
  return "CAP_" + std::to_string(bit);
}

// "sys_admin", "SYS_ADMIN", "cap_sys_admin" -> "CAP_SYS_ADMIN" (Docker accepts all of them).
inline std::string normalize_capability(std::string_view name) {
  std::string out;
  for (char c : name) out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (out != "ALL" && !out.starts_with("CAP_")) out = "CAP_" + out;
  return out;
}

inline std::set<std::string> all_capabilities() {
  std::set<std::string> out;
  for (auto n : kCapabilityNames) out.emplace(n);
  return out;
}

}  // namespace sb::container
