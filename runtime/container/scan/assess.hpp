#pragma once
// The pure decision of the security audit: is this running container one we approved,
// and does it still look the way our backends make containers? No I/O.
//
// The reference ("baseline") is what squadbox's own backends grant: no capabilities at
// all (the oci config's sets are empty, Docker gets CapDrop ALL), no new privileges,
// and private pid/net/ipc/uts/mnt namespaces. Both backends leave the user namespace
// shared (containers run as a non-root uid without capabilities instead), and Docker on
// a cgroup v1 host keeps the host cgroup namespace: those are not findings.
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/container/container_spec.hpp"
#include "runtime/container/scan/approved_containers.hpp"
#include "runtime/container/security_profile.hpp"

namespace sb::container::scan {

// Stable names (metrics label, audit detail): see to_string.
enum class FindingKind {
  unknown_container,  // our install label, but no live run of this node registered it
  privileged,         // privileged mode / every capability
  capability_added,   // a capability beyond the baseline (effective, permitted or bounding)
  host_namespace,     // a namespace shared with the node beyond the baseline
  new_privileges,     // no_new_privileges is off
  unexpected_mount,   // a host mount that no approved mount explains
  writable_mount,     // approved read-only, mounted read-write
  past_timeout,       // still running after its hard timeout (plus grace)
};
std::string_view to_string(FindingKind kind);

struct Finding {
  FindingKind kind;
  std::string what;  // e.g. "CAP_SYS_ADMIN", "net", "/etc -> /workspace/extra/x"
};

struct Baseline {
  std::set<std::string> capabilities;     // allowed capabilities
  std::set<std::string> host_namespaces;  // namespaces allowed to be the node's
  bool no_new_privileges = true;          // required
};
// "oci": no capabilities, host user namespace allowed. "docker": the same plus the host
// cgroup namespace (Docker's default on cgroup v1). Anything else: like oci.
Baseline baseline_for(std::string_view backend);

struct ObservedContainer {
  std::string id;
  container::Labels labels;
  // What the backend observed; none when it could not (apple backend, container gone):
  // then only the registration and the deadline are checked.
  std::optional<container::SecurityProfile> profile;
};

// All findings for one running container; empty means it is fine. An unknown container
// has exactly one finding (unknown_container). past_timeout when now > deadline + grace.
std::vector<Finding> assess(const ObservedContainer& observed, const ApprovedContainer* approved,
                            const Baseline& baseline, std::chrono::steady_clock::time_point now,
                            std::chrono::milliseconds timeout_grace = std::chrono::milliseconds(0));

// Mount check alone: every observed host mount must be an approved mount (or lie below
// one, from the same place below its host path, as an rbind brings along); a read-only
// approved mount must not be writable.
std::vector<Finding> assess_mounts(const std::vector<container::ObservedMount>& observed,
                                   const std::vector<container::Mount>& approved);

}  // namespace sb::container::scan
