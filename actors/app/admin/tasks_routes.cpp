#include "actors/app/admin/tasks_routes.hpp"

#include <cctype>

#include "runtime/http/message.hpp"
#include "storage/error_codes.hpp"

namespace sb::app::admin {
namespace {

constexpr const char* kAuditActor = "admin-api";
constexpr std::size_t kDefaultRunsLimit = 50;
constexpr std::size_t kMaxRunsLimit = 1000;

http::Response error_response(const Error& e) {
  if (e.code == "invalid_field" || e.code == "invalid_json") return http::Response::error(400, e.code, e.message);
  // A group that names no namespace is a bad field of the request, not a missing route.
  if (e.code == "tasks.no_group") return http::Response::error(400, "invalid_field", e.message);
  if (e.code == "tasks.not_found") return http::Response::error(404, "not_found", e.message);
  if (e.code == "tasks.conflict" || e.code == "sqlite.constraint")
    return http::Response::error(409, "conflict", e.message);
  if (storage::is_unavailable(e.code)) return http::Response::error(503, "unavailable", e.message);
  return http::Response::error(500, "internal", e.message);
}

http::Response no_content() {
  http::Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

http::Response method_not_allowed(const std::string& allowed) {
  auto r = http::Response::error(405, "method_not_allowed", "use " + allowed);
  r.headers.emplace_back("Allow", allowed);
  return r;
}

void record(const AuditSink& audit, std::string event, const schedule::Task& t, std::string extra = "") {
  if (!audit) return;
  std::string detail = "{\"name\":\"" + http::json_escape(t.name) + "\",\"group\":\"" +
                       http::json_escape(t.namespace_name) + "\",\"status\":\"" + std::string(to_string(t.status)) +
                       "\"" + extra + "}";
  audit(AuditRecord{kAuditActor, std::move(event), t.id, std::move(detail)});
}

// The path after ".../schedules/": "{id}" or "{id}/{action}".
struct ItemPath {
  std::string id;
  std::string action;  // "", "run" or "runs"
};

Result<ItemPath> item_path(const std::string& path, const std::string& prefix) {
  std::string_view rest = std::string_view(path).substr(prefix.size());
  ItemPath out;
  auto slash = rest.find('/');
  out.id = http::percent_decode(rest.substr(0, slash));
  if (slash != std::string_view::npos) out.action = std::string(rest.substr(slash + 1));
  if (out.id.empty() || out.id.find('/') != std::string::npos)
    return make_error("invalid_field", "id: missing or malformed in the path");
  if (!out.action.empty() && out.action != "run" && out.action != "runs")
    return make_error("tasks.not_found", "no route " + path);
  return out;
}

std::string changes_of(const schedule::TaskPatch& p) {
  std::string out;
  auto add = [&out](bool set, const char* name) {
    if (set) out += std::string(out.empty() ? "" : ",") + "\"" + name + "\"";
  };
  add(p.name.has_value(), "name");
  add(p.group.has_value(), "group");
  add(p.prompt.has_value(), "prompt");
  add(p.schedule.has_value(), "schedule");
  add(p.timeout_secs.has_value() || p.image.has_value(), "containerConfig");
  add(p.context_mode.has_value(), "contextMode");
  add(p.catch_up.has_value(), "catchUp");
  add(p.time_zone.has_value(), "timeZone");
  add(p.announce_jid.has_value(), "announce");
  add(p.retry.has_value(), "retry");
  add(p.enabled.has_value(), "enabled");
  return ",\"changed\":[" + out + "]";
}

Result<std::size_t> limit_param(const http::Request& req) {
  auto text = req.query_param("limit");
  if (!text) return kDefaultRunsLimit;
  std::size_t n = 0;
  if (text->empty() || text->size() > 6) return make_error("invalid_field", "limit: must be 1 to 1000");
  for (char c : *text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return make_error("invalid_field", "limit: must be 1 to 1000");
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (n < 1 || n > kMaxRunsLimit) return make_error("invalid_field", "limit: must be 1 to 1000");
  return n;
}

}  // namespace

void add_tasks_routes(http::Router& api, std::shared_ptr<storage::TaskStore> store, AuditSink audit) {
  const std::string item = std::string(kSchedulesPath) + "/";

  api.add("POST", kSchedulesPath, [store, audit](const http::Request& req, http::Reply reply) {
    auto patch = schedule::parse_task_patch(req.body, /*create=*/true);
    if (!patch) return reply(error_response(patch.error()));
    auto t = store->create(*patch);
    if (!t) return reply(error_response(t.error()));
    record(audit, "schedule.created", *t,
           ",\"schedule\":{\"type\":\"" + std::string(to_string(t->schedule.type)) + "\",\"value\":\"" +
               http::json_escape(t->schedule.value) + "\"}");
    reply(http::Response::json(201, schedule::task_json(*t)));
  });

  api.add("GET", kSchedulesPath, [store](const http::Request& req, http::Reply reply) {
    schedule::TaskFilter filter;
    filter.group = req.query_param("group");
    if (auto status = req.query_param("status")) {
      filter.status = schedule::parse_task_status(*status);
      if (!filter.status)
        return reply(
            http::Response::error(400, "invalid_field", "status: must be active, paused, completed or failed"));
    }
    auto all = store->list(filter);
    if (!all) return reply(error_response(all.error()));
    reply(http::Response::json(200, schedule::tasks_json(*all)));
  });

  api.add_prefix("GET", item, [store, item](const http::Request& req, http::Reply reply) {
    auto path = item_path(req.path, item);
    if (!path) return reply(error_response(path.error()));
    if (path->action == "run") return reply(method_not_allowed("POST"));
    if (path->action == "runs") {
      auto limit = limit_param(req);
      if (!limit) return reply(error_response(limit.error()));
      auto runs = store->runs(path->id, *limit);
      if (!runs) return reply(error_response(runs.error()));
      return reply(http::Response::json(200, schedule::runs_json(*runs)));
    }
    auto t = store->get(path->id);
    if (!t) return reply(error_response(t.error()));
    reply(http::Response::json(200, schedule::task_json(*t)));
  });

  api.add_prefix("PATCH", item, [store, audit, item](const http::Request& req, http::Reply reply) {
    auto path = item_path(req.path, item);
    if (!path) return reply(error_response(path.error()));
    if (path->action == "run") return reply(method_not_allowed("POST"));
    if (path->action == "runs") return reply(method_not_allowed("GET"));
    auto patch = schedule::parse_task_patch(req.body, /*create=*/false);
    if (!patch) return reply(error_response(patch.error()));
    auto before = store->get(path->id);
    if (!before) return reply(error_response(before.error()));
    auto t = store->update(path->id, *patch);
    if (!t) return reply(error_response(t.error()));
    std::string event = "schedule.updated";
    if (before->status != schedule::TaskStatus::paused && t->status == schedule::TaskStatus::paused)
      event = "schedule.paused";
    if (before->status != schedule::TaskStatus::active && t->status == schedule::TaskStatus::active)
      event = "schedule.resumed";
    record(audit, event, *t, changes_of(*patch));
    reply(http::Response::json(200, schedule::task_json(*t)));
  });

  api.add_prefix("DELETE", item, [store, audit, item](const http::Request& req, http::Reply reply) {
    auto path = item_path(req.path, item);
    if (!path) return reply(error_response(path.error()));
    if (path->action == "run") return reply(method_not_allowed("POST"));
    if (path->action == "runs") return reply(method_not_allowed("GET"));
    auto t = store->remove(path->id);
    if (!t) return reply(error_response(t.error()));
    record(audit, "schedule.removed", *t);
    reply(no_content());
  });

  api.add_prefix("POST", item, [store, audit, item](const http::Request& req, http::Reply reply) {
    auto path = item_path(req.path, item);
    if (!path) return reply(error_response(path.error()));
    if (path->action.empty()) return reply(method_not_allowed("GET, PATCH, DELETE"));
    if (path->action == "runs") return reply(method_not_allowed("GET"));
    auto t = store->request_run(path->id);
    if (!t) return reply(error_response(t.error()));
    record(audit, "schedule.run_requested", *t);
    reply(http::Response::json(202, "{\"queued\":true,\"id\":\"" + http::json_escape(t->id) + "\"}"));
  });
}

}  // namespace sb::app::admin
