#pragma once
// The Namespace actor: one per squad group, a thin shell around its NamespaceRunner
// (runtime/namespaces/namespace_runner.hpp), which makes every decision below and returns
// the effects this actor carries out. Routed messages queue per chat (its TurnQueue);
// when a turn is pending and no container runs it asks the manager for a slot, builds
// the run (NamespaceServices::make_run) and supervises it (ContainerSupervisor, linked:
// the container dies with this actor). Each turn is one
// input; the agent's replies go to the outbox (idempotency key per reply) or to the local
// chat hub; a finished turn marks its inbound rows and moves the namespace's restart
// cursor. Container restarts, deaths and failed starts are told to the chat in one line.
//
// Scheduled runs (task_atom, scheduled_run -> true: accepted) queue before messages and
// run one at a time in their own "scheduled" container (actors/namespaces/scheduled_runs.hpp);
// each is answered exactly once, also when this actor ends.
//
// Messages in: (route_atom, routed_message) (task_atom, scheduled_run) (granted_atom)
// (stop_atom: stop an idle container, pre-emption) (ready_atom) (reload_atom)
// (status_atom) and the runs' (output_atom, run_output) (state_atom, run_transition)
// (done_atom, run_result).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/namespaces/namespace_manager.hpp"
#include "runtime/namespaces/reply_plan.hpp"

namespace sb::actors {

struct NamespaceActorOptions {
  std::string id;
  std::string name;
  bool is_main = false;
  namespaces::ContainerConfig container;
  int64_t start_cursor = 0;  // namespace_cursors.last_inbound_id
  std::size_t max_batch = 20;
  std::chrono::milliseconds start_retry{2000};
  std::size_t max_turn_attempts = 3;  // a turn that failed this often is dropped
  std::string assistant_name = "Andy";
  std::string db_path;
  namespace_manager_actor manager;
  bool ready = false;  // container services ready (else: wait for ready_atom)
  std::shared_ptr<NamespaceServices> services;
  std::shared_ptr<channels::local::LocalChatHub> local_chat;
  std::vector<std::shared_ptr<const channels::ChannelBot>> bots;
  metrics::Registry* metrics = nullptr;
  // Cluster mode: this node's lease on the namespace. Every write of the namespace (turn
  // boundaries and completions, the cursor, replies, its runs) carries it; once another
  // node holds a newer epoch the database refuses them and the actor stops.
  storage::Fence fence{};
};

namespace_actor spawn_namespace_actor(caf::actor_system& system, NamespaceActorOptions options);

// What namespaces::choose_bot needs of each bot.
std::vector<namespaces::BotChoice> bot_choices(const std::vector<std::shared_ptr<const channels::ChannelBot>>& bots);

}  // namespace sb::actors
