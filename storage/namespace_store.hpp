#pragma once
// The persistent routing model: namespaces, chat mappings, sender allowlists and the
// default policy, over its own SQLite connection (WAL lets it sit next to the node's
// writer). Thread-safe: one mutex serialises every call (admin traffic is light).
//
// Error codes: "invalid_field" (message names the field), "namespaces.not_found",
// "namespaces.conflict", "sqlite.*", "namespaces.io" (directories).
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/namespaces/namespace.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

class NamespaceStore {
 public:
  // Opens (and migrates) the database at db_path; data_dir holds sessions/ and workspaces/.
  static Result<std::unique_ptr<NamespaceStore>> open(const std::string& db_path, std::string data_dir);

  // Runs after every committed change, outside the store's lock (the router reloads its
  // index from here). Set it before sharing the store between threads.
  void set_on_change(std::function<void()> on_change) { on_change_ = std::move(on_change); }
  const std::string& data_dir() const { return data_dir_; }

  // The first namespace becomes main; isMain on a later one demotes the old main.
  // Makes DATA_DIR/sessions/{name}/ and DATA_DIR/workspaces/{name}/{ipc,extra}/.
  Result<namespaces::Namespace> create(const namespaces::NamespacePatch& patch);
  Result<std::vector<namespaces::Namespace>> list();
  // By id, or else by name.
  Result<namespaces::Namespace> get(const std::string& id_or_name);
  // Renaming moves the namespace's directories. isMain:false on the main is a conflict
  // (set isMain on another namespace instead).
  // update/remove take an id, or else a name, like get.
  Result<namespaces::Namespace> update(const std::string& id, const namespaces::NamespacePatch& patch);
  // Mappings and the cursor go with it; directories stay (they hold the agent's work).
  // Refused while it is the main and others exist, or while it is the default namespace.
  Result<namespaces::Namespace> remove(const std::string& id);

  struct MapOutcome {
    namespaces::Mapping mapping;
    bool created = true;                // false: it already pointed there
    std::string previous_namespace_id;  // set when replace moved it
  };
  Result<MapOutcome> map(const namespaces::MappingRequest& request);
  // All mappings, or those of one namespace (id or name).
  Result<std::vector<namespaces::Mapping>> mappings(const std::optional<std::string>& namespace_ref = std::nullopt);
  // Returns the removed mapping; not_found if the JID is not mapped.
  Result<namespaces::Mapping> unmap(const std::string& jid);

  // A bot without a row allows everyone.
  Result<namespaces::SenderAllowlist> allowlist(const std::string& channel, const std::string& bot);
  Result<std::vector<namespaces::SenderAllowlist>> allowlists();
  Result<namespaces::SenderAllowlist> set_allowlist(const namespaces::SenderAllowlist& allowlist);

  Result<namespaces::RoutingSettings> routing();
  Result<namespaces::RoutingSettings> set_routing(const namespaces::RoutingRequest& request);

 private:
  NamespaceStore(storage::Database db, std::string data_dir) : db_(std::move(db)), data_dir_(std::move(data_dir)) {}

  Result<std::optional<namespaces::Namespace>> find_locked(const std::string& id_or_name);
  Result<namespaces::Namespace> require_locked(const std::string& id_or_name);
  Result<namespaces::RoutingSettings> routing_locked();

  std::mutex mutex_;
  storage::Database db_;
  std::string data_dir_;
  std::function<void()> on_change_;
};

}  // namespace sb::storage
