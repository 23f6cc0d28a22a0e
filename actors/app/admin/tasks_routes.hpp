#pragma once
// Admin API routes for scheduled tasks (added through AdminApiOptions::extensions, so
// they sit behind the bearer token), in the product shape (REFERENCE §1):
//   POST   /api/v1/container/schedules                 {"name","group","prompt","schedule",...} -> 201
//   GET    /api/v1/container/schedules[?group=&status=] -> [task]
//   GET    /api/v1/container/schedules/{id}            -> task | 404
//   PATCH  /api/v1/container/schedules/{id}            {fields} -> task ({"enabled":false} pauses)
//   DELETE /api/v1/container/schedules/{id}            -> 204 | 404
//   POST   /api/v1/container/schedules/{id}/run        -> 202 {"queued":true} (the scheduler starts it)
//   GET    /api/v1/container/schedules/{id}/runs[?limit=] -> [run], newest first
// Errors: 400 invalid_json/invalid_field (the message starts with the field; an unknown
// group is a bad "group" field), 404 not_found, 405 method_not_allowed, 409 conflict,
// 503 unavailable (database busy). Every change is audited ("schedule.created", ...).
#include <memory>

#include "runtime/core/audit_sink.hpp"
#include "runtime/http/router.hpp"
#include "storage/task_store.hpp"

namespace sb::app::admin {

inline constexpr const char* kSchedulesPath = "/api/v1/container/schedules";

void add_tasks_routes(http::Router& api, std::shared_ptr<storage::TaskStore> store, AuditSink audit);

}  // namespace sb::app::admin
