#pragma once
// The router's in-memory index: namespaces, chat JID -> namespace mappings, sender
// allowlists per channel bot and the default policy, built whole from plain rows (as the
// namespaces store reads them) and replaced whole after a change. Immutable once built,
// so a shell may share one table between readers without locks.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"
#include "runtime/routing/string_map.hpp"

namespace sb::routing {

// ---- rows, as stored -------------------------------------------------------------------

struct NamespaceRow {
  std::string id;    // UUID
  std::string name;  // unique; the local chat's JID is "local:{name}"
  bool is_main = false;
  std::string trigger;           // "" = the default, "@<assistant name>"
  bool requires_trigger = true;  // in group chats; DMs never need it
};

struct MappingRow {
  std::string jid;           // "slack:C123", "tg:-100200"
  std::string namespace_id;  // may name a namespace the table lacks: see kUnknownNamespace
};

// Who may talk to one channel bot. A bot without a row lets everyone through.
struct SenderAllowlistRow {
  std::string channel;  // "slack" | "discord" | "whatsapp" | "telegram" | "local"
  std::string bot;      // configured bot name
  bool everyone = true;
  std::vector<std::string> senders;  // platform sender ids; used when !everyone
};

struct DefaultPolicy {
  enum class Kind { ignore, route_to_namespace };
  Kind kind = Kind::ignore;
  std::string namespace_id;  // route_to_namespace only
};

struct RoutingRows {
  std::vector<NamespaceRow> namespaces;
  std::vector<MappingRow> mappings;
  std::vector<SenderAllowlistRow> allowlists;
  DefaultPolicy default_policy;
};

// ---- the index ---------------------------------------------------------------------------

struct NamespaceEntry {
  std::string id;
  std::string name;
  bool is_main = false;
  bool requires_trigger = true;
  std::string trigger;         // effective trigger, trimmed, as configured ("@Andy")
  std::string folded_trigger;  // ASCII-lowercased, what matching compares against
};

// Longest trigger a table accepts: matching costs O(text x trigger) in the worst case.
inline constexpr std::size_t kMaxTriggerBytes = 256;

class RoutingTable {
 public:
  // An empty table: no namespaces, everyone allowed, unmapped chats ignored.
  RoutingTable() = default;

  // Builds the index. `assistant_name` makes the default trigger "@<assistant name>".
  // All or nothing: "routing.bad_table" names the first offending row (duplicate id, name,
  // JID or allowlist key; an empty id/name/JID/sender; more than one main namespace; a
  // trigger over kMaxTriggerBytes; an empty assistant name). Mappings and a default
  // policy that name a namespace the rows lack are kept: the decision reports them as
  // "unknown_namespace" (the store deletes mappings with their namespace, so this only
  // happens with a stale read), see dangling_references().
  static Result<RoutingTable> build(const RoutingRows& rows, std::string_view assistant_name);

  const NamespaceEntry* find_namespace(std::string_view id) const;
  const NamespaceEntry* find_namespace_by_name(std::string_view name) const;
  const NamespaceEntry* main_namespace() const;

  // Where a chat JID is mapped: not at all, to a namespace of this table (`target`), or
  // to an id the table lacks (`mapped` with a null `target`).
  struct JidLookup {
    bool mapped = false;
    const NamespaceEntry* target = nullptr;
    std::string_view namespace_id;  // the mapping's id; valid while the table lives
  };
  JidLookup lookup_jid(std::string_view jid) const;
  // True when `jid` is mapped to the namespace with this id.
  bool is_mapped_to(std::string_view jid, std::string_view namespace_id) const;

  // Sender allowlist of the bot (channel, bot): true when the bot has no row, its row says
  // everyone, or `sender_id` is listed (exact, case-sensitive: platform ids are opaque).
  bool sender_allowed(std::string_view channel, std::string_view bot, std::string_view sender_id) const;

  const DefaultPolicy& default_policy() const { return default_policy_; }
  // The default policy's namespace when it routes to one the table has, else null.
  const NamespaceEntry* default_namespace() const;

  std::size_t namespace_count() const { return namespaces_.size(); }
  std::size_t mapping_count() const { return mappings_.size(); }
  // Mappings plus the default policy that name a namespace id the table lacks.
  std::size_t dangling_references() const { return dangling_; }

 private:
  struct Allowlist {
    bool everyone = true;
    StringSet senders;
  };

  std::vector<NamespaceEntry> namespaces_;
  StringMap<std::size_t> by_id_;    // id -> index in namespaces_
  StringMap<std::size_t> by_name_;  // name -> index
  std::optional<std::size_t> main_;
  struct MappingTarget {
    std::string namespace_id;
    std::optional<std::size_t> index;  // resolved at build; nullopt when dangling
  };

  StringMap<MappingTarget> mappings_;           // jid -> namespace
  StringMap<StringMap<Allowlist>> allowlists_;  // channel -> bot -> allowlist
  DefaultPolicy default_policy_;
  std::optional<std::size_t> default_index_;
  std::size_t dangling_ = 0;
};

}  // namespace sb::routing
