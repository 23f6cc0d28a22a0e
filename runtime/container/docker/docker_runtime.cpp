#include "runtime/container/docker/docker_runtime.hpp"

#include "runtime/container/docker/docker_json.hpp"
#include "runtime/container/mount_policy.hpp"
#include "runtime/core/log.hpp"

namespace sb::container::docker {
namespace {

// Turns a non-2xx reply into an error carrying Docker's own {"message": ...}.
Error api_error(const http::Response& r, std::string_view what) {
  std::string code = "docker.api_error";
  if (r.status == 404) code = "container.not_found";
  if (r.status == 409) code = "container.conflict";
  return make_error(code,
                    std::string(what) + ": Docker answered " + std::to_string(r.status) + ": " + error_message(r.body));
}

bool ok_status(int status) {
  return status >= 200 && status < 300;
}

// An id goes into a URL path: Docker ids and names never need escaping, but a hostile
// one must not be able to change the path.
std::string path_id(const std::string& id) {
  return url_encode(id);
}

}  // namespace

DockerRuntime::DockerRuntime(DockerOptions options) : options_(std::move(options)), client_(options_.socket_path) {}

Result<RuntimeVersion> DockerRuntime::version() {
  {
    std::lock_guard lock(mu_);
    if (version_) return *version_;
  }
  // Unversioned: /version answers on every API version, which is the point.
  auto r = client_.request("GET", "/version", {}, {}, options_.call_timeout);
  if (!r) {
    return make_error("docker.unavailable",
                      "cannot reach Docker at " + options_.socket_path + ": " + r.error().message);
  }
  if (!ok_status(r->status)) return api_error(*r, "GET /version");
  auto server = parse_version(r->body);
  if (!server) return server.error();
  auto chosen = negotiate_api_version(server->api_version, server->min_api_version, server->podman);
  if (!chosen) return chosen.error();
  RuntimeVersion v{"docker", server->version, *chosen};
  log::info("docker.negotiated", {{"version", v.version}, {"server_api", server->api_version}, {"api", v.api_version}});
  std::lock_guard lock(mu_);
  version_ = v;
  return v;
}

Result<std::string> DockerRuntime::api_prefix() {
  auto v = version();
  if (!v) return v.error();
  return "/v" + v->api_version;
}

Result<http::Response> DockerRuntime::call(std::string_view method, const std::string& path, std::string body,
                                           std::string content_type, std::optional<std::chrono::milliseconds> timeout) {
  auto prefix = api_prefix();
  if (!prefix) return prefix.error();
  http::Headers headers;
  if (!body.empty()) headers.emplace_back("Content-Type", std::move(content_type));
  return client_.request(method, *prefix + path, headers, std::move(body), timeout.value_or(options_.call_timeout));
}

Result<std::string> DockerRuntime::create(const ContainerSpec& spec) {
  // extra_args are `docker run` flags; the API has no argv to put them in, and
  // silently dropping a caller's flags would be worse than refusing.
  if (!spec.extra_args.empty()) {
    return make_error("docker.unsupported", "extra runtime args are not supported by the Docker API backend");
  }
  // The daemon resolves host paths itself: make sure each still leads to the directory
  // MountPolicy checked and pinned (the window left is this one API call).
  if (auto same = MountPolicy::reverify(spec.mounts); !same) return same.error();
  std::string path = "/containers/create";
  if (!spec.name.empty()) path += "?name=" + url_encode(spec.name);
  auto r = call("POST", path, create_body(spec));
  if (!r) return r.error();
  if (r->status == 404) return make_error("docker.no_image", "image " + spec.image + ": " + error_message(r->body));
  if (!ok_status(r->status)) return api_error(*r, "create " + spec.name);
  return parse_create(r->body);
}

Status DockerRuntime::start(const std::string& id) {
  auto r = call("POST", "/containers/" + path_id(id) + "/start");
  if (!r) return r.error();
  if (r->status == 304) return {};  // already started
  if (!ok_status(r->status)) return api_error(*r, "start " + id);
  return {};
}

Result<ExitStatus> DockerRuntime::wait(const std::string& id, std::chrono::milliseconds timeout) {
  // The reply is held back until the container stops; the exchange's deadline is the
  // caller's timeout (plus slack for the request itself).
  auto r =
      call("POST", "/containers/" + path_id(id) + "/wait?condition=not-running", {}, {}, timeout + options_.wait_slack);
  if (!r) {
    if (r.error().code == "http.timeout") {
      return make_error("container.timeout",
                        "container " + id + " still running after " + std::to_string(timeout.count()) + " ms");
    }
    return r.error();
  }
  if (!ok_status(r->status)) return api_error(*r, "wait " + id);
  auto code = parse_wait(r->body);
  if (!code) return code.error();
  // OOMKilled is only in the container's state.
  auto info = inspect(id);
  if (info && info->exit) return exit_status(*code, info->exit->oom_killed);
  return exit_status(*code, false);
}

Status DockerRuntime::kill(const std::string& id, int signal) {
  auto r = call("POST", "/containers/" + path_id(id) + "/kill?signal=" + signal_name(signal));
  if (!r) return r.error();
  if (!ok_status(r->status)) return api_error(*r, "kill " + id);
  return {};
}

Status DockerRuntime::remove(const std::string& id, bool force) {
  auto r = call("DELETE", "/containers/" + path_id(id) + (force ? "?force=1" : "?force=0"));
  if (!r) return r.error();
  if (r->status == 404) return {};  // already gone: removal is idempotent
  if (!ok_status(r->status)) return api_error(*r, "remove " + id);
  return {};
}

Result<std::vector<ContainerInfo>> DockerRuntime::list(const Labels& selector) {
  std::string path = "/containers/json?all=1";
  if (!selector.empty()) path += "&filters=" + url_encode(label_filter(selector));
  auto r = call("GET", path);
  if (!r) return r.error();
  if (!ok_status(r->status)) return api_error(*r, "list");
  return parse_list(r->body);
}

Result<ContainerInfo> DockerRuntime::inspect(const std::string& id) {
  auto r = call("GET", "/containers/" + path_id(id) + "/json");
  if (!r) return r.error();
  if (!ok_status(r->status)) return api_error(*r, "inspect " + id);
  return parse_inspect(r->body);
}

Result<SecurityProfile> DockerRuntime::security_profile(const std::string& id) {
  auto r = call("GET", "/containers/" + path_id(id) + "/json");
  if (!r) return r.error();
  if (!ok_status(r->status)) return api_error(*r, "inspect " + id);
  auto info = parse_inspect(r->body);
  if (!info) return info.error();
  if (info->state != ContainerState::running)
    return make_error("container.not_running", "container '" + id + "' is not running");
  return parse_security_profile(r->body);
}

}  // namespace sb::container::docker
