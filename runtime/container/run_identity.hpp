#pragma once
// Who a container runs as, on the host and inside (pure; docs/security.md "Container
// confinement"). Every squad namespace has its own range of host ids (a slot,
// storage/namespace_rows.hpp read_id_range_slot): container ids [0, size) are host ids
// [base + slot * size, +size), so no two namespaces share a host uid, and container uid
// 0 is never host root. The agent is nobody (65534) inside its range.
//
// The workspace's owner: a root-owned (or new) workspace is handed to the namespace's
// own host uid; one owned by anybody else (the operator) keeps its owner, and the
// workspace is idmapped so that what the agent writes there is that owner's (oci
// backend; docker and apple cannot idmap, see the docs). The container process never
// runs as the workspace owner unless the operator says so: `container.user =
// "workspace_owner"` (the rule before user namespaces).
#include <cstdint>
#include <optional>

#include "runtime/container/container_spec.hpp"
#include "runtime/core/result.hpp"

namespace sb::container {

inline constexpr uint32_t kDefaultIdRangeBase = 200000;  // far above login uids (1000..60000)
inline constexpr uint32_t kDefaultIdRangeSize = 65536;   // room for nobody (65534) inside
inline constexpr uint32_t kContainerNobody = 65534;

// config: container.user
enum class RunUser {
  namespace_range,  // "namespace" (default): the namespace's own host id range
  workspace_owner,  // "workspace_owner": run as the workspace's owner (no user namespace)
};
// "namespace" / "workspace_owner"; nullopt otherwise.
std::optional<RunUser> parse_run_user(std::string_view text);

struct IdRangeLayout {
  uint32_t base = kDefaultIdRangeBase;  // config container.userns_base
  uint32_t size = kDefaultIdRangeSize;  // config container.userns_size
};

// Slot N -> {base + N * size, size}. Errors: "container.bad_userns" (base 0, size below
// 65536, a negative slot), "container.userns_exhausted" (past kMaxHostId).
Result<IdRange> id_range_for_slot(const IdRangeLayout& layout, int64_t slot);

struct RunIdentity {
  uint32_t uid = kContainerNobody;  // inside the user namespace (or on the host if none)
  uint32_t gid = kContainerNobody;
  std::optional<IdRange> user_namespace;
  // Idmap the workspace onto this owner (RunMountRequest::workspace_owner).
  std::optional<HostOwner> workspace_idmap;
};

// `workspace_owner`: the workspace directory's owner (stat), nullopt if it does not
// exist yet. `range`: the namespace's ids (id_range_for_slot).
RunIdentity decide_run_identity(RunUser mode, const IdRange& range, const std::optional<HostOwner>& workspace_owner);

}  // namespace sb::container
