#pragma once
// Pure translation of a ContainerSpec into an OCI runtime-spec config.json. No I/O:
// everything the runtime needs to know about the host (rootfs, cgroup path, the image's
// defaults) is passed in, so tests can assert every field.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/container/container_spec.hpp"
#include "runtime/core/result.hpp"

namespace sb::container::oci {

inline constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// What an image says about how to run it (OCI image config subset).
struct ImageDefaults {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "KEY=VALUE"; only PATH is used (see build_oci_config)
  std::string workdir;
};

struct OciConfigInput {
  const ContainerSpec* spec = nullptr;
  std::string rootfs;  // absolute path of the image's rootfs (mounted read-only)
  ImageDefaults image;
  std::string cgroups_path;  // e.g. "/squadbox/<id>"; empty: let the runtime choose
  std::string hostname;      // empty: derived from spec->name
  // Bind sources, one per spec mount (the runtime's stages, staged_mounts.hpp); empty:
  // each mount's host_path.
  std::vector<std::string> mount_sources;
};

// Errors "container.bad_userns": host_base 0, a range past kMaxHostId, or uid/gid
// outside the range. No user namespace is fine.
Status check_user_namespace(const ContainerSpec& spec);

// An idmapped bind mount's single mapping: files owned by `on_disk` (the mount's owner)
// are the container process's own, whose host ids are `process` (spec.host_uid/gid).
// crun 1.8 writes a mount's {containerID, hostID, size} unchanged into the uid_map of the
// user namespace it attaches to the mount, so containerID is the on-disk owner and hostID
// the process's kernel (host) uid: docs/runtime-oci.md "User namespace".
struct IdMount {
  HostOwner on_disk;
  HostOwner process;
};
std::optional<IdMount> idmap_for(const ContainerSpec& spec, const Mount& mount);

// Short, valid hostname from a container name ("team/a:b" -> "a-b").
std::string hostname_for(const std::string& name);

// Process args: spec.command if given (replaces the image's entrypoint entirely),
// otherwise entrypoint + cmd. Error "container.no_command" if both are empty.
Result<std::vector<std::string>> process_args(const ContainerSpec& spec, const ImageDefaults& image);

// The environment is exactly spec.env plus PATH (the image's PATH, else kDefaultPath,
// unless spec.env sets it): nothing from the host or the image leaks in.
std::vector<std::string> process_env(const ContainerSpec& spec, const ImageDefaults& image);

// Errors: "container.root_uid" (uid or gid 0), "container.bad_userns",
// "container.no_command", "container.bad_mount" (also an idmap onto host root).
// Always: the default seccomp profile (seccomp_profile.hpp); a `user` namespace with
// uid/gid mappings when spec.user_namespace is set; idmapped binds for mounts with an owner.
Result<std::string> build_oci_config(const OciConfigInput& input);

}  // namespace sb::container::oci
