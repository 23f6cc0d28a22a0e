#pragma once
// What a container is asked to be, whatever the backend. Plain data; the pure
// validation in validation.hpp runs over it before any backend sees it.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sb::security::allowlist {
class PinnedPath;  // runtime/security/allowlist/pinned_path.hpp
}

namespace sb::container {

using Labels = std::map<std::string, std::string>;

// Labels every squadbox container carries; reconciliation selects on them.
inline constexpr const char* kLabelInstall = "io.squadbox.install";      // install id
inline constexpr const char* kLabelNamespace = "io.squadbox.namespace";  // squad group
inline constexpr const char* kLabelRun = "io.squadbox.run";              // run id

// A host file owner (uid and gid as the host sees them).
struct HostOwner {
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool operator==(const HostOwner&) const = default;
};

struct Mount {
  std::string host_path;       // absolute, canonical (realpath)
  std::string container_path;  // absolute, under /workspace (or /session)
  bool read_write = false;
  // The directory that was checked, held open (O_PATH) for as long as this spec lives:
  // the oci backend mounts it through /proc/<pid>/fd/N, docker/apple re-verify the path
  // against it just before create (MountPolicy::reverify). Null only in hand-made mounts.
  std::shared_ptr<const security::allowlist::PinnedPath> pinned{};  // {}: `{host, dest, rw}` stays valid
  // Idmapped mount (oci backend): what the container's user owns through this mount is
  // owned on the host by `owner` (the workspace's owner), whatever host uid the container
  // runs as. nullopt: no idmap. Backends that cannot idmap (docker, apple) ignore it.
  std::optional<HostOwner> owner{};
};

// A mount list that has passed validation. Only the mount policy (mount_policy.hpp)
// can make one, so nothing unvalidated can reach a runtime: the type is the token.
class ValidatedMounts {
 public:
  ValidatedMounts() = default;  // no mounts at all
  const std::vector<Mount>& mounts() const { return mounts_; }

 private:
  friend class MountPolicy;
  explicit ValidatedMounts(std::vector<Mount> mounts) : mounts_(std::move(mounts)) {}
  std::vector<Mount> mounts_;
};

struct ResourceLimits {
  int64_t memory_bytes = 512ll << 20;  // 0 = unlimited
  int64_t pids = 256;                  // 0 = unlimited
  int64_t cpu_millis = 1000;           // 1000 = one CPU; 0 = unlimited
};

// The highest host id a mapping may reach ((uid_t)-1 is "no id").
inline constexpr uint32_t kMaxHostId = 4294967294u;

// A user namespace: container ids [0, size) are host ids [host_base, host_base + size).
// Container uid 0 is host_base, never host 0 (validated: host_base > 0).
struct IdRange {
  uint32_t host_base = 0;
  uint32_t size = 0;
  bool operator==(const IdRange&) const = default;
  bool contains(uint32_t container_id) const { return container_id < size; }
};

struct ContainerSpec {
  std::string name;                        // validated: [A-Za-z0-9_.:/-], not starting with '-'
  std::string image;                       // validated image reference
  std::vector<std::string> command;        // empty: the image's entrypoint
  std::map<std::string, std::string> env;  // already sanitized (env_policy.hpp)
  Labels labels;
  ValidatedMounts mounts;
  ResourceLimits limits;
  uint32_t uid = 65534;  // never 0; inside the user namespace when there is one
  uint32_t gid = 65534;
  // The container's own user namespace (oci backend); nullopt: the host's. Backends
  // without per-container user namespaces (docker, apple) run as host_uid()/host_gid().
  std::optional<IdRange> user_namespace{};
  std::string workdir = "/workspace";
  std::vector<std::string> extra_args;  // validated against the denylist; backend-specific

  // The uid/gid the container's process has on the host: what host files (IPC boxes, the
  // proxy socket, the session) must be owned by so that it can use them.
  uint32_t host_uid() const { return user_namespace ? user_namespace->host_base + uid : uid; }
  uint32_t host_gid() const { return user_namespace ? user_namespace->host_base + gid : gid; }
};

// How a container ended.
struct ExitStatus {
  int exit_code = 0;        // 128 + signal when killed by a signal
  bool oom_killed = false;  // the kernel's OOM killer ended it (memory limit)
  int signal = 0;           // terminating signal, 0 if it exited
};

enum class ContainerState { created, running, exited, unknown };

struct ContainerInfo {
  std::string id;
  std::string name;
  ContainerState state = ContainerState::unknown;
  Labels labels;
  std::optional<ExitStatus> exit;  // once exited
  int pid = 0;                     // host pid of the init process, when known
};

struct RuntimeVersion {
  std::string backend;  // "oci", "docker", "apple"
  std::string version;  // e.g. "crun 1.8.1", "26.1.5"
  std::string api_version;
};

}  // namespace sb::container
