#pragma once
// A node's database with something in every table group, written through the stores the
// way a running node writes it: namespaces (with their id range slots), a chat mapping, a
// sender allowlist, the routing default, inbound messages and a namespace cursor, outbox
// pieces, channel state, a container run with its transitions, a scheduled task with a
// finished run, a vault secret (encrypted with the data dir's vault.key) and an audit
// chain. For the `storage migrate` tests (SQLite source, PostgreSQL target).
#include <string>

#include <gtest/gtest.h>

#include "runtime/core/secret.hpp"
#include "runtime/schedule/task_model.hpp"
#include "storage/channel_state_store.hpp"
#include "storage/container_run_store.hpp"
#include "storage/group_committer.hpp"
#include "storage/inbound_store.hpp"
#include "storage/migrations.hpp"
#include "storage/namespace_rows.hpp"
#include "storage/namespace_store.hpp"
#include "storage/outbox_store.hpp"
#include "storage/task_store.hpp"
#include "storage/vault_store.hpp"
#include "tests/support/audit_test_support.hpp"

namespace sb::test {

inline constexpr const char* kPopulatedSecretName = "anthropic-key";
inline constexpr const char* kPopulatedSecretValue = "sk-ant-migrate-\xc3\xa9-1";
inline constexpr int kPopulatedAuditRecords = 7;

// Writes into `db_path` (a SQLite file), with `data_dir` for the namespaces' directories
// and `key_file` for the vault key (created). Fails the test on any error.
inline void populate_node_database(const std::string& db_path, const std::string& data_dir,
                                   const std::string& key_file) {
  std::string alpha_id;
  {
    auto ns = storage::NamespaceStore::open(db_path, data_dir);
    ASSERT_TRUE(ns) << ns.error().message;
    for (const char* name : {"alpha", "beta", "gamma"}) {
      namespaces::NamespacePatch p;
      p.name = name;
      p.description = std::string("the ") + name + " squad";
      auto created = (*ns)->create(p);
      ASSERT_TRUE(created) << created.error().message;
      if (created->name == "alpha") alpha_id = created->id;
    }
    // A deleted namespace leaves its id range slot behind (slots are never reused).
    ASSERT_TRUE((*ns)->remove("gamma").ok());
    namespaces::MappingRequest m;
    m.jid = "tg:100";
    m.namespace_ref = "alpha";
    ASSERT_TRUE((*ns)->map(m).ok());
    namespaces::SenderAllowlist allow;
    allow.channel = "telegram";
    allow.bot = "main";
    allow.everyone = false;
    allow.senders = {"u1", "u2"};
    ASSERT_TRUE((*ns)->set_allowlist(allow).ok());
    namespaces::RoutingRequest routing;
    routing.policy = namespaces::DefaultPolicy::ignore;
    ASSERT_TRUE((*ns)->set_routing(routing).ok());
  }
  {
    auto db = storage::Database::open(db_path);
    ASSERT_TRUE(db) << db.error().message;
    storage::GroupCommitter gc(*db);
    for (int i = 1; i <= 5; ++i) {
      messaging::StoredMessage msg;
      msg.channel = "telegram";
      msg.bot = "main";
      msg.chat_jid = "tg:100";
      msg.sender_id = "u1";
      msg.sender_name = "Ünïcode user";
      msg.text = "message " + std::to_string(i) + " \xe2\x9c\x93";
      msg.platform_message_id = "m" + std::to_string(i);
      msg.timestamp_ms = 1700000000000 + i;
      msg.is_group = i % 2 == 0;
      auto out = gc.commit_single(storage::insert_inbound(msg, 1700000000100 + i));
      ASSERT_TRUE(out.ok) << out.error_message;
    }
    auto out = gc.commit_single(storage::upsert_cursor(alpha_id, 5));
    ASSERT_TRUE(out.ok) << out.error_message;
    out = gc.commit_single(storage::insert_pieces("telegram", "main", "tg:100", {"reply one", "reply two"}, "42",
                                                  1700000000200, "alpha:5"));
    ASSERT_TRUE(out.ok) << out.error_message;
    out = gc.commit_single(storage::upsert_channel_state("telegram", "main", "offset", "1234", 1700000000300));
    ASSERT_TRUE(out.ok) << out.error_message;
    storage::ContainerRunRow run;
    run.id = "run-1";
    run.kind = "cowork";
    run.backend = "oci";
    run.image = "squadbox-agent:latest";
    run.state = "pending";
    out = gc.commit_single(storage::insert_container_run(run));
    ASSERT_TRUE(out.ok) << out.error_message;
    for (const auto& [from, to] : {std::pair{"", "pending"}, std::pair{"pending", "running"}}) {
      out = gc.commit_single(storage::insert_run_transition("run-1", from, to, 1700000000400, "test"));
      ASSERT_TRUE(out.ok) << out.error_message;
    }
  }
  {
    storage::TaskStoreOptions o;
    o.now_ms = [] { return int64_t{1700000000500}; };
    auto tasks = storage::TaskStore::open(db_path, o);
    ASSERT_TRUE(tasks) << tasks.error().message;
    schedule::TaskPatch p;
    p.name = "nightly";
    p.group = "alpha";
    p.prompt = "summarise the day";
    p.schedule = schedule::ScheduleSpec{*schedule::parse_schedule_type("cron"), "0 2 * * *"};
    auto task = (*tasks)->create(p);
    ASSERT_TRUE(task) << task.error().message;
    auto started = (*tasks)->start_run(task->id, schedule::RunTrigger::manual);
    ASSERT_TRUE(started) << started.error().message;
    auto finished =
        (*tasks)->finish_run(started->id, schedule::RunOutcome{schedule::RunStatus::success, "done", "", std::nullopt});
    ASSERT_TRUE(finished) << finished.error().message;
  }
  {
    storage::VaultOptions o;
    o.db_path = db_path;
    o.key_file = key_file;
    auto vault = storage::Vault::open(o);
    ASSERT_TRUE(vault) << vault.error().message;
    ASSERT_TRUE((*vault)->set(kPopulatedSecretName, Secret(kPopulatedSecretValue)).ok());
  }
  security::audit::test::append_chain(db_path, kPopulatedAuditRecords);
}

}  // namespace sb::test
