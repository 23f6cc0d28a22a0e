#pragma once
// The database side of namespaces at run time: the cursor write that records a finished
// turn (a pure WriteOp for the storage writer) and the reads the manager, the Namespace
// actors, the chat route and the chat directory make on their own read-only
// connection. The turn's inbound rows are storage/inbound_store.hpp.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"
#include "runtime/namespaces/namespace.hpp"
#include "storage/sql_value.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

// namespace_cursors upsert; the cursor never moves backwards.
storage::WriteOp upsert_cursor(std::string_view namespace_id, int64_t last_inbound_id);

struct NamespaceRecord {
  std::string id;
  std::string name;
  bool is_main = false;
  namespaces::ContainerConfig container;
  int64_t cursor = 0;  // namespace_cursors.last_inbound_id (0: none)
};

// nullopt: no such namespace. A container_config that no longer parses counts as empty.
Result<std::optional<NamespaceRecord>> read_namespace(storage::Database& db, const std::string& id);
Result<std::vector<std::string>> read_namespace_ids(storage::Database& db);
// The namespace a chat JID is mapped to (its name), for IPC ownership.
Result<std::optional<std::string>> read_chat_owner(storage::Database& db, const std::string& chat_jid);
// The host id range slot of the namespace named `namespace_name` (namespace_id_ranges,
// migration 7; never 0, never reused); nullopt: no such namespace.
Result<std::optional<int64_t>> read_id_range_slot(storage::Database& db, const std::string& namespace_name);
// What a namespace's agent is told (build_namespace_run reads it at each container start,
// so a change applies from the namespace's next container).
struct AgentRecord {
  namespaces::AgentSettings settings;
  std::string instructions;       // the text ("" = none)
  std::string instructions_file;  // workspace-relative, used when `instructions` is empty
};
// nullopt: no such namespace. Stored settings that no longer parse: "namespaces.corrupt".
Result<std::optional<AgentRecord>> read_agent_record(storage::Database& db, const std::string& namespace_name);
// The JIDs mapped to the namespace named `namespace_name`, in JID order.
Result<std::vector<std::string>> read_chats_of(storage::Database& db, const std::string& namespace_name);

struct NamespaceRef {
  std::string id;
  std::string name;
};
// The namespace whose id is `id_or_name`, or else the one of that name; nullopt when
// neither exists.
Result<std::optional<NamespaceRef>> find_namespace_ref(storage::Database& db, const std::string& id_or_name);

}  // namespace sb::storage
