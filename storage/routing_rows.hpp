#pragma once
// Reads what the router indexes (routing::RoutingRows: namespaces, chat mappings, sender
// allowlists, the default policy) from the namespaces tables that NamespaceStore writes.
// The router calls this at start and after every change, on its own read-only
// connection; the conversions from stored values are pure functions.
//
// Error codes: "routing.bad_row" (a stored value the store would never write: bad
// senders JSON, unknown allowlist mode or policy), "sqlite.*" (missing table, I/O).
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/routing/routing_table.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

// One sender_allowlists row: mode "everyone" | "list", senders a JSON array of ids.
Result<routing::SenderAllowlistRow> allowlist_row(std::string channel, std::string bot, std::string_view mode,
                                                  std::string_view senders_json);

// The routing_settings values: policy "ignore" | "namespace" ("" = never set: ignore).
Result<routing::DefaultPolicy> default_policy_row(std::string_view policy, std::string namespace_id);

// Everything, in one read transaction (a consistent snapshot next to the writer).
Result<routing::RoutingRows> load_routing_rows(storage::Database& db);

// Opens `db_path` read-only for one load.
Result<routing::RoutingRows> load_routing_rows(const std::string& db_path);

}  // namespace sb::storage
