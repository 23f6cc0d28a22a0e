#pragma once
// How the oci backend mounts exactly the directories MountPolicy checked and pinned.
//
// crun cannot bind a source it reaches through /proc/<pid>/fd/N: by the time it mounts,
// it is in the container's new mount namespace, and the kernel refuses (EINVAL) to bind
// a mount of another namespace. So, just before `crun create`, each pinned directory is
// bind-mounted from its own O_PATH fd (/proc/self/fd/N, in our namespace) onto an empty
// directory under <state_dir>/.stage/<pid>-<id>/ (root-only) and made read-only there
// (crun's own bind applies the mount's ro/rw), crun binds that path, and the
// stage is unmounted again once `crun create` has built the container's mount namespace
// (which keeps its own copy). Nobody but root can touch the stage, so nothing can be
// swapped in between; a path swap after the check changes nothing because the stage was
// made from the fd, not from the path.
//
// With a user namespace, the stage of a read-write mount stays read-write: the container's
// mount namespace then belongs to that user namespace, where the kernel locks flags of the
// mounts it copied (MNT_LOCK_READONLY), so crun's bind of a read-only stage stays
// read-only whatever "rw" says (seen with crun 1.8.1, kernel 6.18). Read-only mounts keep
// a read-only stage.
//
// Staging dirs are only ever unmounted and rmdir'ed, never deleted recursively, and a
// stale read-only stage (a crash mid-create) cannot cost the user a file even under
// `rm -rf`; a stale read-write one could, so clear_stale_stages() detaches those of
// processes that are gone at every start.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "runtime/container/container_spec.hpp"
#include "runtime/core/result.hpp"

namespace sb::container::oci {

class StagedMounts {
 public:
  // Error "container.mount_failed" (needs root, like the oci backend itself).
  // Stages under root/<our pid>-<id>. user_namespace: the container gets one (see above).
  static Result<std::unique_ptr<StagedMounts>> stage(const ValidatedMounts& mounts, const std::filesystem::path& root,
                                                     const std::string& id, bool user_namespace = false);
  ~StagedMounts();  // detaches every stage and removes the (empty) directories
  StagedMounts(const StagedMounts&) = delete;
  StagedMounts& operator=(const StagedMounts&) = delete;

  // One source per mount, in order: the stage for a pinned mount, else its host path.
  const std::vector<std::string>& sources() const { return sources_; }

 private:
  explicit StagedMounts(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
  std::vector<std::filesystem::path> staged_;
  std::vector<std::string> sources_;
};

// The image's rootfs for a container with a user namespace. crun mounts the rootfs from
// inside the new user namespace, as the container's root (a host id of the range), which
// may not search the broker's 0700 directories (DATA_DIR, the state dir): crun 1.8.1 then
// fails with "make `<rootfs>` private: Permission denied". A relative root.path is looked
// up from the bundle, crun's working directory, without searching the directories above
// it. So the rootfs is bound read-only onto <bundle>/rootfs (the bundle is then 0711:
// searchable, not listable; config.json itself is 0600), config.json says "rootfs", and
// the bind is detached once `crun create` has returned. Read-only, so that even a stale
// one cannot be emptied through by removing the bundle; remove() detaches it first.
class StagedRootfs {
 public:
  static constexpr const char* kName = "rootfs";  // root.path, relative to the bundle
  // Error "container.mount_failed".
  static Result<std::unique_ptr<StagedRootfs>> stage(const std::filesystem::path& rootfs,
                                                     const std::filesystem::path& bundle);
  ~StagedRootfs();  // detach(bundle)
  StagedRootfs(const StagedRootfs&) = delete;
  StagedRootfs& operator=(const StagedRootfs&) = delete;
  // Detaches <bundle>/rootfs if it is mounted and removes the (empty) directory.
  static void detach(const std::filesystem::path& bundle);

 private:
  explicit StagedRootfs(std::filesystem::path bundle) : bundle_(std::move(bundle)) {}
  std::filesystem::path bundle_;
};

// Creates the directories `destinations` (absolute, without "..") inside `rootfs` where
// they are missing, one component at a time, never following a symlink (an imported
// image's `/session -> /etc` must not make the broker create host directories). crun
// creates missing mount points itself, but in a user namespace it does so as the
// container's root, which may not write the root-owned image (and the staged rootfs is
// read-only). Error "container.mount_failed".
Status ensure_mount_points(const std::filesystem::path& rootfs, const std::vector<std::string>& destinations);

// The mount destinations that lie directly on the image's root: not below another of
// them nor below a fresh filesystem (/proc, /dev, /sys, /tmp); those themselves included.
std::vector<std::string> root_mount_points(const ValidatedMounts& mounts);

// Mounts inside another bind mount (/workspace/ipc in /workspace): for each, the index
// of the deepest enclosing mount and the path below it ("ipc"). With a user namespace
// their mount points are made on the host side, in the enclosing mount's source: crun
// would make them as the container's root, which an idmapped workspace does not map
// ("mkdir `/workspace/ipc`: Value too large for defined data type", crun 1.8.1).
struct NestedMountPoint {
  size_t parent = 0;
  std::string relative;
};
std::vector<NestedMountPoint> nested_mount_points(const ValidatedMounts& mounts);

// Detaches and removes what processes that no longer run left under `root`
// (<state_dir>/.stage); another live process's stages (a CLI next to `serve`) stay.
void clear_stale_stages(const std::filesystem::path& root);

}  // namespace sb::container::oci
