#include "actors/node/node.hpp"

#include "actors/audit/audit_log.hpp"
#include "actors/channels/channel_ingest.hpp"
#include "actors/channels/channel_registry.hpp"
#include "actors/channels/outbox.hpp"
#include "actors/cluster/cluster_node.hpp"
#include "actors/cluster/cluster_transport.hpp"
#include "actors/namespaces/namespace_manager.hpp"
#include "actors/node/audit_sink.hpp"
#include "actors/routing/message_router.hpp"
#include "actors/schedule/scheduler.hpp"
#include "actors/storage/storage_writer.hpp"
#include "actors/supervision/supervisor.hpp"

namespace sb::actors {

supervisor_actor spawn_node(caf::actor_system& system, NodeOptions options) {
  const auto& c = options.config;
  SupervisorOptions sup;
  sup.name = "root";
  sup.policy.backoff_base = std::chrono::milliseconds(c.supervisor.backoff_base_ms);
  sup.policy.backoff_max = std::chrono::milliseconds(c.supervisor.backoff_max_ms);
  sup.policy.budget = static_cast<uint32_t>(c.supervisor.restart_budget);
  sup.policy.window = std::chrono::milliseconds(c.supervisor.restart_window_ms);
  sup.parent = options.parent;
  sup.metrics = options.metrics;

  StorageWriterOptions writer;
  writer.path = c.storage_path();
  writer.busy_timeout_ms = static_cast<int>(c.storage.busy_timeout_ms);
  writer.synchronous = c.storage.synchronous == "normal" ? "NORMAL" : "FULL";
  writer.commit_window = std::chrono::microseconds(c.storage.commit_window_us);
  writer.max_batch = static_cast<size_t>(c.storage.max_batch);
  writer.metrics = options.metrics;

  sup.children = {
      {"storage",
       [writer](caf::actor_system& sys, const caf::actor&) {
         return caf::actor_cast<caf::actor>(spawn_storage_writer(sys, writer));
       }},
      {"audit",
       [path = c.storage_path()](caf::actor_system& sys, const caf::actor&) {
         return caf::actor_cast<caf::actor>(spawn_audit_log(sys, AuditLogOptions{path}));
       }},
  };
  sup.children.push_back({"ingest", [metrics = options.metrics](caf::actor_system& sys, const caf::actor&) {
                            IngestOptions ingest;
                            ingest.metrics = metrics;
                            return caf::actor_cast<caf::actor>(spawn_ingest(sys, ingest));
                          }});
  sup.children.push_back({"outbox", [bots = options.bots, metrics = options.metrics, db = c.storage_path()](
                                        caf::actor_system& sys, const caf::actor&) {
                            OutboxOptions outbox;
                            outbox.bots = bots;
                            outbox.metrics = metrics;
                            outbox.db_path = db;
                            return caf::actor_cast<caf::actor>(spawn_outbox(sys, std::move(outbox)));
                          }});
  MessageRouterOptions router{options.metrics, c.storage_path(), c.namespaces.assistant_name, options.cluster_view};
  sup.children.push_back({"router", [router](caf::actor_system& sys, const caf::actor&) {
                            return caf::actor_cast<caf::actor>(spawn_message_router(sys, router));
                          }});
  // Before the namespaces: stopped after them (reverse order), it hands back their leases.
  if (c.cluster.enabled && options.cluster_view) {
    ClusterOptions cluster;
    cluster.config = c;
    cluster.view = options.cluster_view;
    cluster.metrics = options.metrics;
    cluster.audit = options.cluster_audit;
    for (const auto& bot : options.bots) cluster.bots.push_back(bot->id());
    sup.children.push_back({"cluster", [cluster](caf::actor_system& sys, const caf::actor&) {
                              return caf::actor_cast<caf::actor>(spawn_cluster(sys, cluster));
                            }});
  }
  NamespaceManagerOptions namespaces;
  namespaces.config = c.namespaces;
  namespaces.db_path = c.storage_path();
  namespaces.services = options.namespace_services;
  namespaces.local_chat = options.local_chat;
  namespaces.bots = options.bots;
  namespaces.metrics = options.metrics;
  namespaces.cluster_view = options.cluster_view;
  sup.children.push_back({"namespaces", [namespaces](caf::actor_system& sys, const caf::actor&) {
                            return caf::actor_cast<caf::actor>(spawn_namespace_manager(sys, namespaces));
                          }});
  sup.children.push_back({"scheduler", [tasks = options.tasks, metrics = options.metrics, view = options.cluster_view](
                                           caf::actor_system& sys, const caf::actor&) {
                            SchedulerOptions scheduler;
                            scheduler.store = tasks;
                            scheduler.metrics = metrics;
                            scheduler.cluster_view = view;
                            return caf::actor_cast<caf::actor>(spawn_scheduler(sys, std::move(scheduler)));
                          }});
  ChannelRegistryOptions channels;
  channels.bots = options.bots;
  channels.config = c;
  channels.policy = sup.policy;
  channels.metrics = options.metrics;
  channels.board = options.connections;
  channels.cluster_view = options.cluster_view;
  sup.children.push_back({"channels", [channels](caf::actor_system& sys, const caf::actor& supervisor) {
                            auto registry = channels;
                            registry.parent = supervisor;
                            registry.audit = make_audit_sink(sys);
                            return caf::actor_cast<caf::actor>(spawn_channel_registry(sys, std::move(registry)));
                          }});
  return spawn_supervisor(system, std::move(sup));
}

void configure_actor_system(caf::actor_system_config& cfg, const config::Config& config) {
  if (config.actors.threads > 0) cfg.set("scheduler.max-threads", static_cast<size_t>(config.actors.threads));
  // Idle workers otherwise sleep between polls, adding ~50 µs to every request that
  // wakes them (PLATFORM-NOTES): poll without sleeping in the moderate phase.
  cfg.set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  add_message_types(cfg);
  if (config.cluster.enabled) configure_cluster_transport(cfg, config.cluster);
}

}  // namespace sb::actors
