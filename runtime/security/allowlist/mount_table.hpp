#pragma once
// What the host's mount table says about a candidate mount. Path checks only see path
// strings; a bind mount shows one directory under another name, and a recursive bind
// (crun's rbind, Docker's default) carries every mount beneath the source along. So a
// candidate is denied when
//   * a mount point lies strictly beneath it (rule "submount": it would ride along
//     unchecked — this also catches a directory bind-mounted under itself), or
//   * a mount point between the allowed root (exclusive) and the candidate (inclusive)
//     is a second view of something else (rule "bind_mount": its mount root is not "/",
//     or its device is mounted elsewhere too), so the path does not say what it exposes.
// Mounts above the allowed root (e.g. a btrfs subvolume at /home) are the host's own
// layout and are not judged.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/security/allowlist/allowlist_rules.hpp"

namespace sb::security::allowlist {

struct MountEntry {
  std::string device;       // "major:minor"
  std::string root;         // path inside its filesystem that forms this mount's root
  std::string mount_point;  // as this process sees it
};

// /proc/self/mountinfo lines -> entries (octal escapes such as \040 decoded); malformed
// lines are skipped.
std::vector<MountEntry> parse_mountinfo(std::string_view text);

// `boundary`: the allowed root (or, for a lone directory, its parent): only mount points
// strictly under it are judged as bind mounts.
std::optional<Verdict> check_mount_exposure(const std::vector<MountEntry>& mounts, std::string_view candidate,
                                            std::string_view boundary);

// /proc/self/mountinfo, parsed, cached process-wide: reading it costs tens of
// microseconds, so it is read again only when the kernel reports a change (poll() on an
// open mountinfo fd signals POLLPRI after any mount or unmount in the namespace), or
// when this process has moved to another mount namespace. Thread-safe. Error
// "mount.table" if it cannot be read (the check then denies: fail closed).
Result<std::shared_ptr<const std::vector<MountEntry>>> current_mount_table();

}  // namespace sb::security::allowlist
