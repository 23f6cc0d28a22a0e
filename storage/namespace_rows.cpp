#include "storage/namespace_rows.hpp"

namespace sb::storage {

using namespace namespaces;

using storage::SqlParam;

storage::WriteOp upsert_cursor(std::string_view namespace_id, int64_t last_inbound_id) {
  // CASE, not max(a, b): the two-argument max is SQLite's (PostgreSQL: GREATEST), and the
  // stored row is named by its table because PostgreSQL finds a bare column ambiguous next
  // to `excluded`.
  return {
      "INSERT INTO namespace_cursors(namespace_id, last_inbound_id) VALUES(?1, ?2) "
      "ON CONFLICT(namespace_id) DO UPDATE SET last_inbound_id = CASE "
      "WHEN excluded.last_inbound_id > namespace_cursors.last_inbound_id THEN excluded.last_inbound_id "
      "ELSE namespace_cursors.last_inbound_id END",
      {SqlParam::of(std::string(namespace_id)), SqlParam::of(last_inbound_id)}};
}

Result<std::optional<NamespaceRecord>> read_namespace(storage::Database& db, const std::string& id) {
  auto stmt = db.prepare(
      "SELECT n.id, n.name, n.is_main, n.container_config, COALESCE(c.last_inbound_id, 0) FROM namespaces n "
      "LEFT JOIN namespace_cursors c ON c.namespace_id = n.id WHERE n.id = ?1");
  if (!stmt) return stmt.error();
  if (auto b = stmt->bind(1, std::string_view(id)); !b) return b.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<NamespaceRecord>{};
  NamespaceRecord r;
  r.id = stmt->column_text(0);
  r.name = stmt->column_text(1);
  r.is_main = stmt->column_int64(2) != 0;
  if (auto cfg = namespaces::parse_container_config(stmt->column_text(3))) r.container = std::move(*cfg);
  r.cursor = stmt->column_int64(4);
  return std::optional<NamespaceRecord>(std::move(r));
}

Result<std::vector<std::string>> read_namespace_ids(storage::Database& db) {
  auto stmt = db.prepare("SELECT id FROM namespaces");
  if (!stmt) return stmt.error();
  std::vector<std::string> ids;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    ids.push_back(stmt->column_text(0));
  }
  return ids;
}

Result<std::optional<std::string>> read_chat_owner(storage::Database& db, const std::string& chat_jid) {
  auto stmt =
      db.prepare("SELECT n.name FROM chat_mappings m JOIN namespaces n ON n.id = m.namespace_id WHERE m.jid = ?1");
  if (!stmt) return stmt.error();
  if (auto b = stmt->bind(1, std::string_view(chat_jid)); !b) return b.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>(stmt->column_text(0));
}

Result<std::optional<int64_t>> read_id_range_slot(storage::Database& db, const std::string& namespace_name) {
  auto stmt = db.prepare(
      "SELECT r.slot FROM namespace_id_ranges r JOIN namespaces n ON n.id = r.namespace_id WHERE n.name = ?1");
  if (!stmt) return stmt.error();
  if (auto b = stmt->bind(1, std::string_view(namespace_name)); !b) return b.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<int64_t>{};
  return std::optional<int64_t>(stmt->column_int64(0));
}

Result<std::optional<AgentRecord>> read_agent_record(storage::Database& db, const std::string& namespace_name) {
  auto stmt = db.prepare("SELECT agent_config, instructions, instructions_file FROM namespaces WHERE name = ?1");
  if (!stmt) return stmt.error();
  if (auto b = stmt->bind(1, std::string_view(namespace_name)); !b) return b.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<AgentRecord>{};
  auto settings = namespaces::parse_agent_settings(stmt->column_text(0));
  if (!settings)
    return make_error(settings.error().code, "namespace " + namespace_name + ": " + settings.error().message);
  return std::optional<AgentRecord>(AgentRecord{std::move(*settings), stmt->column_text(1), stmt->column_text(2)});
}

Result<std::vector<std::string>> read_chats_of(storage::Database& db, const std::string& namespace_name) {
  auto stmt = db.prepare(
      "SELECT m.jid FROM chat_mappings m JOIN namespaces n ON n.id = m.namespace_id WHERE n.name = ?1 ORDER BY m.jid");
  if (!stmt) return stmt.error();
  if (auto b = stmt->bind(1, std::string_view(namespace_name)); !b) return b.error();
  std::vector<std::string> jids;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return jids;
    jids.push_back(stmt->column_text(0));
  }
}

Result<std::optional<NamespaceRef>> find_namespace_ref(storage::Database& db, const std::string& id_or_name) {
  auto s = db.prepare("SELECT id, name FROM namespaces WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1");
  if (!s) return s.error();
  if (auto st = s->bind(1, std::string_view(id_or_name)); !st) return st.error();
  auto row = s->step();
  if (!row) return row.error();
  if (!*row) return std::optional<NamespaceRef>{};
  return std::optional<NamespaceRef>{NamespaceRef{s->column_text(0), s->column_text(1)}};
}

}  // namespace sb::storage
