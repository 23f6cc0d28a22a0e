#include "runtime/container/run_identity.hpp"

#include <string>

namespace sb::container {

std::optional<RunUser> parse_run_user(std::string_view text) {
  if (text == "namespace") return RunUser::namespace_range;
  if (text == "workspace_owner") return RunUser::workspace_owner;
  return std::nullopt;
}

Result<IdRange> id_range_for_slot(const IdRangeLayout& layout, int64_t slot) {
  if (layout.base == 0) return make_error("container.bad_userns", "container.userns_base must not be 0 (host root)");
  if (layout.size < kDefaultIdRangeSize)
    return make_error("container.bad_userns", "container.userns_size must be at least 65536 (nobody is 65534)");
  if (slot < 0) return make_error("container.bad_userns", "negative id range slot " + std::to_string(slot));
  // slot <= kMaxHostId first, so that slot * size (both below 2^32) cannot overflow.
  const bool too_far = static_cast<uint64_t>(slot) > uint64_t{kMaxHostId} ||
                       uint64_t{layout.base} + static_cast<uint64_t>(slot) * layout.size + layout.size - 1 > kMaxHostId;
  const uint64_t first = too_far ? 0 : uint64_t{layout.base} + static_cast<uint64_t>(slot) * layout.size;
  if (too_far)
    return make_error("container.userns_exhausted",
                      "id range slot " + std::to_string(slot) + " lies past the host's last id (userns_base " +
                          std::to_string(layout.base) + ", userns_size " + std::to_string(layout.size) + ")");
  return IdRange{static_cast<uint32_t>(first), layout.size};
}

RunIdentity decide_run_identity(RunUser mode, const IdRange& range, const std::optional<HostOwner>& workspace_owner) {
  RunIdentity out;
  const bool owned_by_someone = workspace_owner && workspace_owner->uid != 0 && workspace_owner->gid != 0;
  if (mode == RunUser::workspace_owner && owned_by_someone) {
    // The explicit old rule: the process is the owner itself, on the host.
    out.uid = workspace_owner->uid;
    out.gid = workspace_owner->gid;
    return out;
  }
  out.user_namespace = range;
  const HostOwner process{range.host_base + out.uid, range.host_base + out.gid};
  if (owned_by_someone && *workspace_owner != process) out.workspace_idmap = *workspace_owner;
  return out;
}

}  // namespace sb::container
