#include "storage/routing_rows.hpp"

#include "runtime/namespaces/namespace.hpp"

namespace sb::storage {

using namespace namespaces;
using namespace routing;
namespace {

Error bad_row(const std::string& what) {
  return make_error("routing.bad_row", what);
}

// Steps `s` to the end, handing each row to `on_row` (which may fail).
template <typename F>
Status each_row(storage::Statement& s, F on_row) {
  while (true) {
    auto row = s.step();
    if (!row) return row.error();
    if (!*row) return {};
    if (auto st = on_row(s); !st) return st;
  }
}

Result<storage::Statement> prepare(storage::Database& db, std::string_view sql) {
  return db.prepare(sql);
}

}  // namespace

Result<routing::SenderAllowlistRow> allowlist_row(std::string channel, std::string bot, std::string_view mode,
                                                  std::string_view senders_json) {
  routing::SenderAllowlistRow row;
  row.channel = std::move(channel);
  row.bot = std::move(bot);
  if (mode == "everyone") {
    row.everyone = true;
    return row;
  }
  if (mode != "list")
    return bad_row("allowlist " + row.channel + "/" + row.bot + ": unknown mode '" + std::string(mode) + "'");
  auto senders = parse_senders_json(senders_json);
  if (!senders)
    return bad_row("allowlist " + row.channel + "/" + row.bot + ": bad senders JSON: " + senders.error().message);
  row.everyone = false;
  row.senders = std::move(*senders);
  return row;
}

Result<routing::DefaultPolicy> default_policy_row(std::string_view policy, std::string namespace_id) {
  routing::DefaultPolicy p;
  if (policy.empty() || policy == "ignore") return p;
  if (policy != "namespace") return bad_row("routing_settings: unknown default_policy '" + std::string(policy) + "'");
  if (namespace_id.empty()) return bad_row("routing_settings: default_policy 'namespace' without default_namespace_id");
  p.kind = routing::DefaultPolicy::Kind::route_to_namespace;
  p.namespace_id = std::move(namespace_id);
  return p;
}

Result<routing::RoutingRows> load_routing_rows(storage::Database& db) {
  // One read snapshot for all four SELECTs. SQLite: a deferred transaction keeps the
  // snapshot of its first read. PostgreSQL: REPEATABLE READ (READ COMMITTED would take one
  // per statement, and a mapping committed between two SELECTs would name a namespace not
  // read).
  auto tx = storage::Transaction::begin(db, false);
  if (!tx) return tx.error();
  if (db.engine() == storage::Engine::postgres) {
    if (auto st = db.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"); !st) return st.error();
  }
  routing::RoutingRows rows;

  auto ns = prepare(db, "SELECT id, name, is_main, trigger, requires_trigger FROM namespaces ORDER BY name");
  if (!ns) return ns.error();
  if (auto st = each_row(*ns,
                         [&](storage::Statement& s) -> Status {
                           rows.namespaces.push_back(routing::NamespaceRow{s.column_text(0), s.column_text(1),
                                                                           s.column_int64(2) != 0, s.column_text(3),
                                                                           s.column_int64(4) != 0});
                           return {};
                         });
      !st)
    return st.error();

  auto maps = prepare(db, "SELECT jid, namespace_id FROM chat_mappings ORDER BY jid");
  if (!maps) return maps.error();
  if (auto st = each_row(*maps,
                         [&](storage::Statement& s) -> Status {
                           rows.mappings.push_back(routing::MappingRow{s.column_text(0), s.column_text(1)});
                           return {};
                         });
      !st)
    return st.error();

  auto lists = prepare(db, "SELECT channel, bot, mode, senders FROM sender_allowlists ORDER BY channel, bot");
  if (!lists) return lists.error();
  if (auto st = each_row(*lists,
                         [&](storage::Statement& s) -> Status {
                           auto row =
                               allowlist_row(s.column_text(0), s.column_text(1), s.column_text(2), s.column_text(3));
                           if (!row) return row.error();
                           rows.allowlists.push_back(std::move(*row));
                           return {};
                         });
      !st)
    return st.error();

  auto settings = prepare(db, "SELECT key, value FROM routing_settings");
  if (!settings) return settings.error();
  std::string policy, default_id;
  if (auto st = each_row(*settings,
                         [&](storage::Statement& s) -> Status {
                           const std::string key = s.column_text(0);
                           if (key == "default_policy") policy = s.column_text(1);
                           if (key == "default_namespace_id") default_id = s.column_text(1);
                           return {};
                         });
      !st)
    return st.error();
  auto p = default_policy_row(policy, std::move(default_id));
  if (!p) return p.error();
  rows.default_policy = std::move(*p);
  return rows;
}

Result<routing::RoutingRows> load_routing_rows(const std::string& db_path) {
  storage::OpenOptions opts;
  opts.read_only = true;
  auto db = storage::Database::open(db_path, opts);
  if (!db) return db.error();
  return load_routing_rows(*db);
}

}  // namespace sb::storage
