#include "storage/namespace_store.hpp"

#include <sodium.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "runtime/core/change_notifier.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/time.hpp"
#include "runtime/messaging/inbound.hpp"
#include "storage/migrations.hpp"

namespace sb::storage {

using namespace namespaces;
namespace {

namespace fs = std::filesystem;

constexpr const char* kSelectNamespace =
    "SELECT id, name, description, is_main, trigger, requires_trigger, container_config, instructions_file, "
    "created_at, updated_at, agent_config, instructions FROM namespaces";

Error not_found(const std::string& what) {
  return make_error("namespaces.not_found", what);
}
Error conflict(const std::string& what) {
  return make_error("namespaces.conflict", what);
}

Result<Namespace> read_row(storage::Statement& s) {
  Namespace ns;
  ns.id = s.column_text(0);
  ns.name = s.column_text(1);
  ns.description = s.column_text(2);
  ns.is_main = s.column_int64(3) != 0;
  ns.trigger = s.column_text(4);
  ns.requires_trigger = s.column_int64(5) != 0;
  auto cfg = parse_container_config(s.column_text(6));
  if (!cfg) return make_error("namespaces.corrupt", "namespace " + ns.name + ": stored " + cfg.error().message);
  ns.container = std::move(*cfg);
  ns.instructions_file = s.column_text(7);
  ns.created_at_ms = s.column_int64(8);
  ns.updated_at_ms = s.column_int64(9);
  auto agent = parse_agent_settings(s.column_text(10));
  if (!agent) return make_error("namespaces.corrupt", "namespace " + ns.name + ": stored " + agent.error().message);
  ns.agent = std::move(*agent);
  ns.instructions = s.column_text(11);
  return ns;
}

Result<std::vector<Namespace>> query_namespaces(storage::Database& db, const std::string& where,
                                                const std::vector<std::string>& params) {
  auto s = db.prepare(std::string(kSelectNamespace) + where);
  if (!s) return s.error();
  for (size_t i = 0; i < params.size(); ++i)
    if (auto st = s->bind(static_cast<int>(i + 1), params[i]); !st) return st.error();
  std::vector<Namespace> out;
  while (true) {
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) break;
    auto ns = read_row(*s);
    if (!ns) return ns.error();
    out.push_back(std::move(*ns));
  }
  auto j = db.prepare("SELECT jid FROM chat_mappings WHERE namespace_id = ?1 ORDER BY jid");
  if (!j) return j.error();
  for (auto& ns : out) {
    j->reset();
    if (auto st = j->bind(1, ns.id); !st) return st.error();
    while (true) {
      auto row = j->step();
      if (!row) return row.error();
      if (!*row) break;
      ns.jids.push_back(j->column_text(0));
    }
  }
  return out;
}

// Runs one statement with text/int parameters; returns the number of changed rows.
template <typename... Args>
Result<int64_t> run(storage::Database& db, std::string_view sql, const Args&... args) {
  auto s = db.prepare(sql);
  if (!s) return s.error();
  int idx = 1;
  Status st;
  ((st = st ? s->bind(idx++, args) : st), ...);
  if (!st) return st.error();
  auto r = s->step();
  if (!r) return r.error();
  return db.changes();
}

int64_t count(storage::Database& db, std::string_view sql) {
  auto s = db.prepare(sql);
  if (!s) return -1;
  auto r = s->step();
  if (!r || !*r) return -1;
  return s->column_int64(0);
}

Status make_dirs(const std::string& data_dir, const std::string& name) {
  std::error_code ec;
  for (const std::string& d : {session_dir(data_dir, name), workspace_dir(data_dir, name) + "/ipc",
                               workspace_dir(data_dir, name) + "/extra"}) {
    fs::create_directories(d, ec);
    if (ec) return make_error("namespaces.io", "cannot create " + d + ": " + ec.message());
  }
  return {};
}

Status move_dirs(const std::string& data_dir, const std::string& from, const std::string& to) {
  std::error_code ec;
  for (auto dir : {&session_dir, &workspace_dir}) {
    const std::string src = dir(data_dir, from), dst = dir(data_dir, to);
    if (fs::exists(dst, ec)) return conflict("directory " + dst + " already exists");
    if (!fs::exists(src, ec)) continue;
    fs::rename(src, dst, ec);
    if (ec) return make_error("namespaces.io", "cannot move " + src + " to " + dst + ": " + ec.message());
  }
  return {};
}

Result<Mapping> read_mapping(storage::Statement& s) {
  return Mapping{s.column_text(0), s.column_text(1), s.column_text(2), s.column_int64(3)};
}

}  // namespace

Result<std::unique_ptr<NamespaceStore>> NamespaceStore::open(const std::string& db_path, std::string data_dir) {
  if (sodium_init() < 0) return make_error("namespaces.sodium", "libsodium failed to initialise");
  auto db = storage::Database::open(db_path);
  if (!db) return db.error();
  if (auto st = storage::migrate(*db); !st) return st.error();
  return std::unique_ptr<NamespaceStore>(new NamespaceStore(std::move(*db), std::move(data_dir)));
}

Result<std::optional<Namespace>> NamespaceStore::find_locked(const std::string& ref) {
  auto by_id = query_namespaces(db_, " WHERE id = ?1", {ref});
  if (!by_id) return by_id.error();
  if (!by_id->empty()) return std::optional<Namespace>(std::move(by_id->front()));
  auto by_name = query_namespaces(db_, " WHERE name = ?1", {ref});
  if (!by_name) return by_name.error();
  if (!by_name->empty()) return std::optional<Namespace>(std::move(by_name->front()));
  return std::optional<Namespace>();
}

Result<Namespace> NamespaceStore::require_locked(const std::string& ref) {
  auto found = find_locked(ref);
  if (!found) return found.error();
  if (!*found) return not_found("no namespace " + ref);
  return std::move(**found);
}

Result<Namespace> NamespaceStore::create(const NamespacePatch& p) {
  if (!p.name) return make_error("invalid_field", "name: required");
  if (auto st = validate_name(*p.name); !st) return st.error();
  {
    ChangeNotifier notify{on_change_};
    std::lock_guard lock(mutex_);
    auto tx = storage::Transaction::begin(db_, true);
    if (!tx) return tx.error();
    auto existing = query_namespaces(db_, " WHERE name = ?1", {*p.name});
    if (!existing) return existing.error();
    if (!existing->empty()) return conflict("a namespace named " + *p.name + " already exists");
    const bool first = count(db_, "SELECT count(*) FROM namespaces") == 0;
    const bool is_main = first || p.is_main.value_or(false);
    if (is_main && !first)
      if (auto r = run(db_, "UPDATE namespaces SET is_main = 0, updated_at = ?1 WHERE is_main = 1", now_ms()); !r)
        return r.error();
    Namespace ns;
    ns.id = uuid_v4();
    ns.name = *p.name;
    ns.description = p.description.value_or("");
    ns.is_main = is_main;
    ns.trigger = p.trigger.value_or("");
    ns.requires_trigger = p.requires_trigger.value_or(true);
    ns.container = p.container.value_or(ContainerConfig{});
    ns.instructions_file = p.instructions_file.value_or("");
    if (p.agent) {
      ns.agent = apply_agent_patch({}, *p.agent);
      ns.instructions = p.agent->instructions.value_or("");
    }
    ns.created_at_ms = ns.updated_at_ms = now_ms();
    auto ins = run(db_,
                   "INSERT INTO namespaces(id, name, description, is_main, trigger, requires_trigger, "
                   "container_config, instructions_file, created_at, updated_at, agent_config, instructions) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11)",
                   ns.id, ns.name, ns.description, int64_t{ns.is_main}, ns.trigger, int64_t{ns.requires_trigger},
                   container_config_json(ns.container), ns.instructions_file, ns.created_at_ms,
                   agent_settings_json(ns.agent), ns.instructions);
    if (!ins) return ins.error();
    // Made before the commit: a namespace never exists without its directories. The
    // mount points exist from the start because a read-only workspace cannot get them later.
    if (auto st = make_dirs(data_dir_, ns.name); !st) return st.error();
    if (auto st = tx->commit(); !st) return st.error();
    notify.fire = true;
    return ns;
  }
}

Result<std::vector<Namespace>> NamespaceStore::list() {
  std::lock_guard lock(mutex_);
  return query_namespaces(db_, " ORDER BY created_at, name", {});
}

Result<Namespace> NamespaceStore::get(const std::string& ref) {
  std::lock_guard lock(mutex_);
  return require_locked(ref);
}

Result<Namespace> NamespaceStore::update(const std::string& id, const NamespacePatch& p) {
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  auto found = require_locked(id);
  if (!found) return found.error();
  Namespace ns = std::move(*found);
  const std::string old_name = ns.name;
  if (p.name && *p.name != ns.name) {
    if (auto st = validate_name(*p.name); !st) return st.error();
    auto clash = query_namespaces(db_, " WHERE name = ?1", {*p.name});
    if (!clash) return clash.error();
    if (!clash->empty()) return conflict("a namespace named " + *p.name + " already exists");
    ns.name = *p.name;
  }
  if (p.is_main) {
    if (!*p.is_main && ns.is_main)
      return conflict("there must be one main namespace: set isMain on another namespace instead");
    if (*p.is_main && !ns.is_main) {
      if (auto r = run(db_, "UPDATE namespaces SET is_main = 0, updated_at = ?1 WHERE is_main = 1", now_ms()); !r)
        return r.error();
      ns.is_main = true;
    }
  }
  if (p.description) ns.description = *p.description;
  if (p.trigger) ns.trigger = *p.trigger;
  if (p.requires_trigger) ns.requires_trigger = *p.requires_trigger;
  if (p.container) ns.container = *p.container;
  if (p.instructions_file) ns.instructions_file = *p.instructions_file;
  if (p.agent) {
    ns.agent = apply_agent_patch(std::move(ns.agent), *p.agent);
    if (p.agent->reset) ns.instructions.clear();
    if (p.agent->instructions) ns.instructions = *p.agent->instructions;
  }
  ns.updated_at_ms = std::max(now_ms(), ns.updated_at_ms);
  auto upd = run(db_,
                 "UPDATE namespaces SET name = ?2, description = ?3, is_main = ?4, trigger = ?5, "
                 "requires_trigger = ?6, container_config = ?7, instructions_file = ?8, updated_at = ?9, "
                 "agent_config = ?10, instructions = ?11 WHERE id = ?1",
                 ns.id, ns.name, ns.description, int64_t{ns.is_main}, ns.trigger, int64_t{ns.requires_trigger},
                 container_config_json(ns.container), ns.instructions_file, ns.updated_at_ms,
                 agent_settings_json(ns.agent), ns.instructions);
  if (!upd) return upd.error();
  const bool renamed = ns.name != old_name;
  if (renamed)
    if (auto st = move_dirs(data_dir_, old_name, ns.name); !st) return st.error();
  if (auto st = tx->commit(); !st) {
    if (renamed) (void)move_dirs(data_dir_, ns.name, old_name);
    return st.error();
  }
  notify.fire = true;
  return ns;
}

Result<Namespace> NamespaceStore::remove(const std::string& id) {
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  auto found = require_locked(id);
  if (!found) return found.error();
  Namespace ns = std::move(*found);
  if (ns.is_main && count(db_, "SELECT count(*) FROM namespaces") > 1)
    return conflict("namespace " + ns.name + " is the main namespace: set isMain on another one first");
  auto routing = routing_locked();
  if (!routing) return routing.error();
  if (routing->policy == DefaultPolicy::to_namespace && routing->default_namespace_id == ns.id)
    return conflict("namespace " + ns.name + " is the default namespace: change the routing policy first");
  if (auto r = run(db_, "DELETE FROM namespaces WHERE id = ?1", ns.id); !r) return r.error();
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = true;
  return ns;
}

Result<NamespaceStore::MapOutcome> NamespaceStore::map(const MappingRequest& req) {
  if (auto st = messaging::validate_jid(req.jid); !st) return st.error();
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  auto target = require_locked(req.namespace_ref);
  if (!target) return target.error();
  MapOutcome out;
  out.mapping = Mapping{req.jid, target->id, target->name, now_ms()};
  auto cur = db_.prepare("SELECT namespace_id, created_at FROM chat_mappings WHERE jid = ?1");
  if (!cur) return cur.error();
  if (auto st = cur->bind(1, req.jid); !st) return st.error();
  auto row = cur->step();
  if (!row) return row.error();
  if (*row) {
    const std::string current = cur->column_text(0);
    const int64_t created = cur->column_int64(1);
    cur->reset();
    if (current == target->id) {
      out.created = false;
      out.mapping.created_at_ms = created;
      return out;  // idempotent: nothing changed
    }
    if (!req.replace)
      return conflict(req.jid + " is already mapped to another namespace (send \"replace\":true to move it)");
    out.previous_namespace_id = current;
    if (auto r = run(db_, "UPDATE chat_mappings SET namespace_id = ?2, created_at = ?3 WHERE jid = ?1", req.jid,
                     target->id, out.mapping.created_at_ms);
        !r)
      return r.error();
  } else {
    cur->reset();
    if (auto r = run(db_, "INSERT INTO chat_mappings(jid, namespace_id, created_at) VALUES (?1, ?2, ?3)", req.jid,
                     target->id, out.mapping.created_at_ms);
        !r)
      return r.error();
  }
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = true;
  return out;
}

Result<std::vector<Mapping>> NamespaceStore::mappings(const std::optional<std::string>& ref) {
  std::lock_guard lock(mutex_);
  std::string sql =
      "SELECT m.jid, m.namespace_id, n.name, m.created_at FROM chat_mappings m JOIN namespaces n ON n.id = "
      "m.namespace_id";
  std::string id;
  if (ref) {
    auto ns = require_locked(*ref);
    if (!ns) return ns.error();
    id = ns->id;
    sql += " WHERE m.namespace_id = ?1";
  }
  sql += " ORDER BY m.jid";
  auto s = db_.prepare(sql);
  if (!s) return s.error();
  if (ref)
    if (auto st = s->bind(1, id); !st) return st.error();
  std::vector<Mapping> out;
  while (true) {
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) break;
    auto m = read_mapping(*s);
    if (!m) return m.error();
    out.push_back(std::move(*m));
  }
  return out;
}

Result<Mapping> NamespaceStore::unmap(const std::string& jid) {
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  auto s = db_.prepare(
      "SELECT m.jid, m.namespace_id, n.name, m.created_at FROM chat_mappings m JOIN namespaces n ON n.id = "
      "m.namespace_id WHERE m.jid = ?1");
  if (!s) return s.error();
  if (auto st = s->bind(1, jid); !st) return st.error();
  auto row = s->step();
  if (!row) return row.error();
  if (!*row) return not_found(jid + " is not mapped");
  auto m = read_mapping(*s);
  s->reset();
  if (auto r = run(db_, "DELETE FROM chat_mappings WHERE jid = ?1", jid); !r) return r.error();
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = true;
  return m;
}

Result<SenderAllowlist> NamespaceStore::allowlist(const std::string& channel, const std::string& bot) {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare("SELECT mode, senders, updated_at FROM sender_allowlists WHERE channel = ?1 AND bot = ?2");
  if (!s) return s.error();
  if (auto st = s->bind(1, channel); !st) return st.error();
  if (auto st = s->bind(2, bot); !st) return st.error();
  SenderAllowlist a;
  a.channel = channel;
  a.bot = bot;
  auto row = s->step();
  if (!row) return row.error();
  if (!*row) return a;  // no row: everyone
  a.everyone = s->column_text(0) == "everyone";
  auto senders = parse_senders_json(s->column_text(1));
  if (!senders) return senders.error();
  a.senders = std::move(*senders);
  a.updated_at_ms = s->column_int64(2);
  return a;
}

Result<std::vector<SenderAllowlist>> NamespaceStore::allowlists() {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare("SELECT channel, bot, mode, senders, updated_at FROM sender_allowlists ORDER BY channel, bot");
  if (!s) return s.error();
  std::vector<SenderAllowlist> out;
  while (true) {
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) break;
    SenderAllowlist a;
    a.channel = s->column_text(0);
    a.bot = s->column_text(1);
    a.everyone = s->column_text(2) == "everyone";
    auto senders = parse_senders_json(s->column_text(3));
    if (!senders) return senders.error();
    a.senders = std::move(*senders);
    a.updated_at_ms = s->column_int64(4);
    out.push_back(std::move(a));
  }
  return out;
}

Result<SenderAllowlist> NamespaceStore::set_allowlist(const SenderAllowlist& in) {
  if (!is_platform(in.channel)) return make_error("invalid_field", "platform: unknown platform " + in.channel);
  if (auto st = validate_bot_name(in.bot); !st) return st.error();
  for (const auto& s : in.senders)
    if (auto st = validate_sender(s); !st) return st.error();
  SenderAllowlist a = in;
  if (a.everyone) a.senders.clear();
  a.updated_at_ms = now_ms();
  {
    ChangeNotifier notify{on_change_};
    std::lock_guard lock(mutex_);
    auto r =
        run(db_,
            "INSERT INTO sender_allowlists(channel, bot, mode, senders, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) "
            "ON CONFLICT(channel, bot) DO UPDATE SET mode = excluded.mode, senders = excluded.senders, "
            "updated_at = excluded.updated_at",
            a.channel, a.bot, std::string(a.everyone ? "everyone" : "list"), senders_json(a.senders), a.updated_at_ms);
    if (!r) return r.error();
    notify.fire = true;
  }
  return a;
}

Result<RoutingSettings> NamespaceStore::routing_locked() {
  auto s = db_.prepare("SELECT key, value FROM routing_settings");
  if (!s) return s.error();
  RoutingSettings r;
  while (true) {
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) break;
    const std::string key = s->column_text(0), value = s->column_text(1);
    if (key == "default_policy") r.policy = value == "namespace" ? DefaultPolicy::to_namespace : DefaultPolicy::ignore;
    if (key == "default_namespace_id") r.default_namespace_id = value;
  }
  s->reset();
  if (r.policy == DefaultPolicy::to_namespace) {
    auto ns = query_namespaces(db_, " WHERE id = ?1", {r.default_namespace_id});
    if (!ns) return ns.error();
    if (ns->empty()) {
      r.policy = DefaultPolicy::ignore;  // cannot happen through the store (remove refuses); be safe
      r.default_namespace_id.clear();
    } else {
      r.default_namespace_name = ns->front().name;
    }
  }
  return r;
}

Result<RoutingSettings> NamespaceStore::routing() {
  std::lock_guard lock(mutex_);
  return routing_locked();
}

Result<RoutingSettings> NamespaceStore::set_routing(const RoutingRequest& req) {
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  std::string id;
  if (req.policy == DefaultPolicy::to_namespace) {
    auto ns = require_locked(req.namespace_ref);
    if (!ns) {
      if (ns.error().code == "namespaces.not_found")
        return make_error("invalid_field", "defaultNamespace: no namespace " + req.namespace_ref);
      return ns.error();
    }
    id = ns->id;
  }
  const std::string policy = req.policy == DefaultPolicy::ignore ? "ignore" : "namespace";
  const char* upsert =
      "INSERT INTO routing_settings(key, value) VALUES (?1, ?2) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value";
  if (auto r = run(db_, upsert, std::string("default_policy"), policy); !r) return r.error();
  if (auto r = run(db_, upsert, std::string("default_namespace_id"), id); !r) return r.error();
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = true;
  return routing_locked();
}

}  // namespace sb::storage
