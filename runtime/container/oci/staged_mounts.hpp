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
// Staging dirs are only ever unmounted and rmdir'ed, never deleted recursively, and a
// stage is read-only: a stale one (a crash mid-create) cannot cost the user a file even
// under `rm -rf`. clear_stale_stages() detaches those of processes that are gone.
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
  // Stages under root/<our pid>-<id>.
  static Result<std::unique_ptr<StagedMounts>> stage(const ValidatedMounts& mounts, const std::filesystem::path& root,
                                                     const std::string& id);
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

// Detaches and removes what processes that no longer run left under `root`
// (<state_dir>/.stage); another live process's stages (a CLI next to `serve`) stay.
void clear_stale_stages(const std::filesystem::path& root);

}  // namespace sb::container::oci
