#pragma once
#include "runtime/container/signal_name.hpp"
// Pure translation between squadbox's container model and the Docker Engine API's
// JSON (API 1.43-1.45, i.e. Docker 24-26). No I/O here, so every mapping is unit-tested.
#include <array>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/container/container_spec.hpp"
#include "runtime/container/security_profile.hpp"
#include "runtime/core/result.hpp"

namespace sb::container::docker {

// The API range squadbox speaks: Docker 24 (1.43) is the product's minimum; 1.45
// (Docker 26) is the newest verified (see docs/runtime-docker.md).
inline constexpr std::string_view kMinApiVersion = "1.43";
inline constexpr std::string_view kMaxApiVersion = "1.45";

// "1.45" -> {1, 45}; false if malformed. Numeric, so that "1.9" < "1.10".
bool parse_api_version(std::string_view text, int& major, int& minor);
// <0, 0, >0 like strcmp; malformed versions compare as 0.0.
int compare_api_versions(std::string_view a, std::string_view b);

// Chooses the path prefix version: min(server ApiVersion, kMaxApiVersion).
// Errors: "docker.too_old" (server below 1.43 / Docker 24, message names both),
// "docker.too_new" (server's MinAPIVersion above what we speak),
// "docker.bad_version" (unparsable).
// Podman (4.0 and newer) serves the same API but reports 1.41 (Docker 20.10's level),
// which covers every call squadbox makes: with `podman` set, 1.40 is the floor.
Result<std::string> negotiate_api_version(std::string_view server_api, std::string_view server_min_api,
                                          bool podman = false);

struct ServerVersion {
  std::string version;          // "26.1.5+dfsg1"
  std::string api_version;      // "1.45"
  std::string min_api_version;  // "1.24"
  bool podman = false;          // Components[].Name == "Podman Engine"
};
// GET /version. Error: "docker.bad_response".
Result<ServerVersion> parse_version(std::string_view body);

// "host:container:ro|rw" for each mount, in order.
std::vector<std::string> binds(const std::vector<Mount>& mounts);

// The POST /containers/create body. Locked down regardless of the image: no network,
// read-only root with a small /tmp tmpfs, all capabilities dropped, no-new-privileges,
// the spec's uid:gid, its env and nothing else we add.
std::string create_body(const ContainerSpec& spec);

// POST /containers/create -> {"Id": ...}. Error: "docker.bad_response".
Result<std::string> parse_create(std::string_view body);

// GET /containers/{id}/json. Error: "docker.bad_response".
Result<ContainerInfo> parse_inspect(std::string_view body);

// The capabilities Docker grants when a container drops none (moby's default set).
inline constexpr std::array<std::string_view, 14> kDefaultCapabilities = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

// The capability set a container gets from HostConfig (moby's TweakCapabilities):
// privileged -> all; CapAdd ALL -> all but CapDrop; CapDrop ALL -> CapAdd only;
// otherwise the default set minus CapDrop plus CapAdd. Names are normalized (CAP_X).
std::set<std::string> effective_capabilities(bool privileged, const std::vector<std::string>& cap_add,
                                             const std::vector<std::string>& cap_drop);

// GET /containers/{id}/json -> what the container is (HostConfig and Mounts, as the
// daemon applied them): Privileged, CapAdd/CapDrop, SecurityOpt no-new-privileges,
// Pid/Network/Ipc/UTS/Userns/CgroupnsMode "host", and every mount but tmpfs.
// Error: "docker.bad_response".
Result<SecurityProfile> parse_security_profile(std::string_view body);

// GET /containers/json. Error: "docker.bad_response".
Result<std::vector<ContainerInfo>> parse_list(std::string_view body);

// POST /containers/{id}/wait -> exit code. Errors: "docker.wait_failed" (the body's
// Error.Message), "docker.bad_response".
Result<int> parse_wait(std::string_view body);

// Exit code -> ExitStatus. Docker reports a signal death as 128+N and cannot tell it
// from exit(128+N); we take 129..192 as a signal, like a shell does.
ExitStatus exit_status(int exit_code, bool oom_killed);

// {"message": "..."} from an error reply; the raw body (truncated) if not JSON.
std::string error_message(std::string_view body);

// filters={"label":["k=v",...]} value (JSON, not yet URL-encoded).
std::string label_filter(const Labels& selector);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode(std::string_view in);

// "SIGTERM" for the signals Docker names; the decimal number otherwise (Docker accepts both).
using container::signal_name;  // runtime/container/signal_name.hpp

}  // namespace sb::container::docker
