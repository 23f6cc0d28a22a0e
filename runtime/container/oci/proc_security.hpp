#pragma once
// Pure parsing of what /proc says about a live container's init process, for the
// oci backend's security_profile(): capability masks and NoNewPrivs from
// /proc/<pid>/status, namespaces compared with the node's, and the host mounts in
// /proc/<pid>/mountinfo mapped back to host paths through the node's own mountinfo.
// No I/O: OciRuntime reads the files and hands the text in.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/container/security_profile.hpp"
#include "runtime/core/result.hpp"

namespace sb::container::oci {

struct ProcStatus {
  uint64_t cap_inh = 0, cap_prm = 0, cap_eff = 0, cap_bnd = 0, cap_amb = 0;
  bool no_new_privs = false;
};
// Error "proc.bad_status" if a Cap* line or NoNewPrivs is missing or malformed.
Result<ProcStatus> parse_proc_status(std::string_view text);

// Bit n set -> capability_name(n).
std::set<std::string> capability_set(uint64_t mask);

// One line of /proc/<pid>/mountinfo (proc(5)); octal escapes (\040) decoded.
struct MountInfoEntry {
  std::string device;       // "major:minor"
  std::string root;         // path inside the filesystem that is mounted here
  std::string mount_point;  // relative to the reading process's root
  bool read_write = false;  // per-mount option and superblock both rw
  std::string fs_type;
  std::string source;  // "mount source" field (e.g. /dev/vda, tmpfs)
};
// Malformed lines are skipped.
std::vector<MountInfoEntry> parse_mountinfo(std::string_view text);

// The container's mounts that show a host filesystem (a device the node has mounted
// itself), with the host path they come from. Left out: the image rootfs ("/"), the
// kernel filesystems of the container's own namespaces at their usual places (proc
// under /proc, sysfs under /sys, mqueue at /dev/mqueue: sharing them is reported as a
// host namespace), and /dev/null binds that mask kernel files.
std::vector<ObservedMount> host_mounts(const std::vector<MountInfoEntry>& container,
                                       const std::vector<MountInfoEntry>& host);

// Everything read from /proc for one container.
struct ProcSnapshot {
  std::string status;                             // /proc/<pid>/status
  std::string mountinfo;                          // /proc/<pid>/mountinfo
  std::string host_mountinfo;                     // /proc/self/mountinfo (the node's view of host paths)
  std::map<std::string, std::string> namespaces;  // "net" -> "net:[4026531833]" of the container
  // The node's namespaces: /proc/1/ns/* and /proc/self/ns/* (either counts as the host).
  std::map<std::string, std::set<std::string>> host_namespaces;
  int cap_last_cap = 40;  // /proc/sys/kernel/cap_last_cap
};
// Errors: "proc.bad_status".
Result<SecurityProfile> profile_from_proc(const ProcSnapshot& snapshot);

// `crun state` / `runc state` JSON -> status ("running", ...) and init pid.
struct OciState {
  std::string status;
  int pid = 0;
};
// Error "oci.bad_state".
Result<OciState> parse_oci_state(std::string_view json);

}  // namespace sb::container::oci
