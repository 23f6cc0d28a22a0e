#include "runtime/routing/routing_table.hpp"

#include <fmt/format.h>

#include "runtime/core/text.hpp"
#include "runtime/routing/trigger.hpp"

namespace sb::routing {
namespace {

Error bad(std::string message) {
  return make_error("routing.bad_table", std::move(message));
}

}  // namespace

Result<RoutingTable> RoutingTable::build(const RoutingRows& rows, std::string_view assistant_name) {
  const std::string_view assistant = trim(assistant_name);
  if (assistant.empty()) return bad("assistant name is empty: the default trigger would be a bare '@'");

  RoutingTable t;
  t.namespaces_.reserve(rows.namespaces.size());
  t.by_id_.reserve(rows.namespaces.size());
  t.by_name_.reserve(rows.namespaces.size());
  for (const auto& row : rows.namespaces) {
    if (row.id.empty()) return bad(fmt::format("namespace '{}' has an empty id", row.name));
    if (row.name.empty()) return bad(fmt::format("namespace {} has an empty name", row.id));
    const std::size_t index = t.namespaces_.size();
    if (!t.by_id_.emplace(row.id, index).second) return bad(fmt::format("duplicate namespace id {}", row.id));
    if (!t.by_name_.emplace(row.name, index).second) return bad(fmt::format("duplicate namespace name '{}'", row.name));
    if (row.is_main) {
      if (t.main_)
        return bad(fmt::format("more than one main namespace ({} and {})", t.namespaces_[*t.main_].id, row.id));
      t.main_ = index;
    }
    std::string_view trigger = trim(row.trigger);
    std::string effective = trigger.empty() ? "@" + std::string(assistant) : std::string(trigger);
    if (effective.size() > kMaxTriggerBytes)
      return bad(fmt::format("namespace {}: trigger longer than {} bytes", row.id, kMaxTriggerBytes));
    NamespaceEntry e;
    e.id = row.id;
    e.name = row.name;
    e.is_main = row.is_main;
    e.requires_trigger = row.requires_trigger;
    e.folded_trigger = fold_ascii(effective);
    e.trigger = std::move(effective);
    t.namespaces_.push_back(std::move(e));
  }

  t.mappings_.reserve(rows.mappings.size());
  for (const auto& row : rows.mappings) {
    if (row.jid.empty()) return bad(fmt::format("a mapping to namespace {} has an empty JID", row.namespace_id));
    if (row.namespace_id.empty()) return bad(fmt::format("mapping {} has an empty namespace id", row.jid));
    MappingTarget target{row.namespace_id, std::nullopt};
    if (auto it = t.by_id_.find(row.namespace_id); it != t.by_id_.end())
      target.index = it->second;
    else
      ++t.dangling_;
    if (!t.mappings_.emplace(row.jid, std::move(target)).second)
      return bad(fmt::format("JID {} is mapped more than once", row.jid));
  }

  for (const auto& row : rows.allowlists) {
    if (row.channel.empty() || row.bot.empty())
      return bad(fmt::format("sender allowlist '{}/{}' has an empty channel or bot", row.channel, row.bot));
    Allowlist list;
    list.everyone = row.everyone;
    if (!row.everyone) {
      list.senders.reserve(row.senders.size());
      for (const auto& sender : row.senders) {
        if (sender.empty())
          return bad(fmt::format("sender allowlist {}/{} lists an empty sender id", row.channel, row.bot));
        list.senders.insert(sender);
      }
    }
    if (!t.allowlists_[row.channel].emplace(row.bot, std::move(list)).second)
      return bad(fmt::format("more than one sender allowlist for {}/{}", row.channel, row.bot));
  }

  t.default_policy_ = rows.default_policy;
  if (t.default_policy_.kind == DefaultPolicy::Kind::route_to_namespace) {
    if (t.default_policy_.namespace_id.empty()) return bad("the default policy routes to an empty namespace id");
    if (auto it = t.by_id_.find(t.default_policy_.namespace_id); it != t.by_id_.end())
      t.default_index_ = it->second;
    else
      ++t.dangling_;
  } else {
    t.default_policy_.namespace_id.clear();
  }
  return t;
}

const NamespaceEntry* RoutingTable::find_namespace(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &namespaces_[it->second];
}

const NamespaceEntry* RoutingTable::find_namespace_by_name(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &namespaces_[it->second];
}

const NamespaceEntry* RoutingTable::main_namespace() const {
  return main_ ? &namespaces_[*main_] : nullptr;
}

const NamespaceEntry* RoutingTable::default_namespace() const {
  return default_index_ ? &namespaces_[*default_index_] : nullptr;
}

RoutingTable::JidLookup RoutingTable::lookup_jid(std::string_view jid) const {
  auto it = mappings_.find(jid);
  if (it == mappings_.end()) return {};
  const MappingTarget& m = it->second;
  return {true, m.index ? &namespaces_[*m.index] : nullptr, m.namespace_id};
}

bool RoutingTable::is_mapped_to(std::string_view jid, std::string_view namespace_id) const {
  auto it = mappings_.find(jid);
  return it != mappings_.end() && it->second.namespace_id == namespace_id;
}

bool RoutingTable::sender_allowed(std::string_view channel, std::string_view bot, std::string_view sender_id) const {
  auto c = allowlists_.find(channel);
  if (c == allowlists_.end()) return true;
  auto b = c->second.find(bot);
  if (b == c->second.end()) return true;
  const Allowlist& list = b->second;
  return list.everyone || list.senders.contains(sender_id);
}

}  // namespace sb::routing
