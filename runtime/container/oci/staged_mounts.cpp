#include "runtime/container/oci/staged_mounts.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "runtime/core/fs.hpp"
#include "runtime/core/log.hpp"
#include "runtime/security/allowlist/pinned_path.hpp"

namespace sb::container::oci {
namespace fs = std::filesystem;
namespace {

void unstage(const fs::path& p) {
  // Not mounted (EINVAL) is fine: rmdir below only removes an empty directory.
  if (::umount2(p.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    log::warn("oci.unstage_failed", {{"path", p.string()}, {"error", std::strerror(errno)}});
  ::rmdir(p.c_str());
}

}  // namespace

Result<std::unique_ptr<StagedMounts>> StagedMounts::stage(const ValidatedMounts& mounts, const fs::path& root,
                                                          const std::string& id, bool user_namespace) {
  const fs::path dir = root / (std::to_string(::getpid()) + "-" + id);
  std::unique_ptr<StagedMounts> out(new StagedMounts(dir));
  bool any = false;
  for (const auto& m : mounts.mounts()) any |= m.pinned != nullptr;
  if (any) {
    std::error_code ec;
    fs::create_directories(dir.parent_path(), ec);
    ::chmod(dir.parent_path().c_str(), 0700);
    if (::mkdir(dir.c_str(), 0700) != 0)
      return make_error("container.mount_failed", "cannot create " + dir.string() + ": " + std::strerror(errno));
  }
  for (size_t i = 0; i < mounts.mounts().size(); ++i) {
    const Mount& m = mounts.mounts()[i];
    if (!m.pinned) {
      out->sources_.push_back(m.host_path);
      continue;
    }
    const fs::path target = dir / std::to_string(i);
    if (::mkdir(target.c_str(), 0700) != 0)
      return make_error("container.mount_failed", "cannot create " + target.string() + ": " + std::strerror(errno));
    out->staged_.push_back(target);
    const std::string from = "/proc/self/fd/" + std::to_string(m.pinned->fd());
    const unsigned long ro = user_namespace && m.read_write ? 0 : MS_RDONLY;
    if (::mount(from.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
        ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | ro | MS_NOSUID | MS_NODEV, nullptr) != 0)
      return make_error("container.mount_failed",
                        "cannot stage " + m.host_path + " for mounting: " + std::strerror(errno));
    // Belt and braces: the stage must be the pinned directory itself.
    struct stat st {};
    if (::stat(target.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_dev) != m.pinned->device() ||
        static_cast<uint64_t>(st.st_ino) != m.pinned->inode())
      return make_error("container.mount_failed", "the stage of " + m.host_path + " is not the checked directory");
    out->sources_.push_back(target.string());
  }
  return out;
}

StagedMounts::~StagedMounts() {
  for (auto it = staged_.rbegin(); it != staged_.rend(); ++it) unstage(*it);
  ::rmdir(dir_.c_str());  // only if empty; absent when nothing was pinned
}

Result<std::unique_ptr<StagedRootfs>> StagedRootfs::stage(const fs::path& rootfs, const fs::path& bundle) {
  const fs::path target = bundle / kName;
  if (::mkdir(target.c_str(), 0755) != 0)
    return make_error("container.mount_failed", "cannot create " + target.string() + ": " + std::strerror(errno));
  std::unique_ptr<StagedRootfs> out(new StagedRootfs(bundle));
  if (::mount(rootfs.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
      ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    return make_error("container.mount_failed",
                      "cannot stage the rootfs " + rootfs.string() + ": " + std::strerror(errno));
  return out;
}

StagedRootfs::~StagedRootfs() {
  detach(bundle_);
}

void StagedRootfs::detach(const fs::path& bundle) {
  unstage(bundle / kName);
}

Status ensure_mount_points(const fs::path& rootfs, const std::vector<std::string>& destinations) {
  for (const auto& dest : destinations) {
    UniqueFd dir(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0)
      return make_error("container.mount_failed", "cannot open " + rootfs.string() + ": " + std::strerror(errno));
    for (const auto& part : fs::path(dest).relative_path()) {
      const std::string name = part.string();
      if (name.empty() || name == ".") continue;
      if (name == "..") return make_error("container.mount_failed", "mount point with '..': " + dest);
      if (::mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
        return make_error("container.mount_failed",
                          "cannot create mount point " + dest + " in the image: " + std::strerror(errno));
      UniqueFd next(::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (next.get() < 0)
        return make_error("container.mount_failed",
                          "mount point " + dest + " is not a directory in the image (" + std::strerror(errno) + ")");
      dir = std::move(next);
    }
  }
  return {};
}

namespace {
bool below(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.starts_with(dir) && (dir == "/" || path[dir.size()] == '/');
}
}  // namespace

std::vector<NestedMountPoint> nested_mount_points(const ValidatedMounts& mounts) {
  std::vector<NestedMountPoint> out;
  const auto& ms = mounts.mounts();
  for (size_t i = 0; i < ms.size(); ++i) {
    std::optional<size_t> parent;
    for (size_t j = 0; j < ms.size(); ++j)
      if (j != i && below(ms[i].container_path, ms[j].container_path) &&
          (!parent || ms[j].container_path.size() > ms[*parent].container_path.size()))
        parent = j;
    if (parent) out.push_back({*parent, ms[i].container_path.substr(ms[*parent].container_path.size() + 1)});
  }
  return out;
}

std::vector<std::string> root_mount_points(const ValidatedMounts& mounts) {
  std::vector<std::string> tops = {"/proc", "/dev", "/sys", "/tmp"};
  for (const auto& m : mounts.mounts()) {
    bool nested = false;
    for (const auto& other : mounts.mounts()) nested |= below(m.container_path, other.container_path);
    for (const char* fresh : {"/proc", "/dev", "/sys", "/tmp"}) nested |= below(m.container_path, fresh);
    if (!nested && std::find(tops.begin(), tops.end(), m.container_path) == tops.end())
      tops.push_back(m.container_path);
  }
  return tops;
}

void clear_stale_stages(const fs::path& root) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const pid_t owner = static_cast<pid_t>(std::atoi(entry.path().filename().c_str()));
    if (owner <= 0 || owner == ::getpid() || ::kill(owner, 0) == 0 || errno == EPERM) continue;  // still running
    std::error_code ec2;
    for (const auto& stage : fs::directory_iterator(entry.path(), ec2)) unstage(stage.path());
    ::rmdir(entry.path().c_str());
  }
}

}  // namespace sb::container::oci
