#pragma once
// GET /api/v1/container/audit?after=SEQ&limit=N&namespace=NAME: audit records as JSON,
// read on a read-only connection per request. Added to the admin API's bearer-protected
// router through AdminApiOptions::extensions.
#include <string>
#include <vector>

#include "runtime/core/result.hpp"
#include "runtime/http/router.hpp"
#include "storage/audit_store.hpp"

namespace sb::app::admin {

inline constexpr const char* kAuditPath = "/api/v1/container/audit";

void add_audit_routes(http::Router& api, std::string db_path);

// Pure: the query parameters, or a message naming the bad one.
Result<storage::AuditQuery> parse_audit_query(const http::Request& request);

// [{"seq","at","actor","event","subject","detail","hash"}]; `at` ISO-8601 UTC, `detail`
// the stored JSON object (a non-object detail is wrapped as {"raw": "<text>"}), `hash` hex.
std::string records_to_json(const std::vector<security::audit::ChainRecord>& records);

}  // namespace sb::app::admin
