#include "actors/protocol.hpp"

namespace sb::actors {

std::string_view to_string(ChildState state) {
  switch (state) {
    case ChildState::starting: return "starting";
    case ChildState::running: return "running";
    case ChildState::stopping: return "stopping";
    case ChildState::backoff: return "backoff";
    case ChildState::dead: return "dead";
    case ChildState::stopped: return "stopped";
  }
  return "running";
}

std::string_view to_string(ForwardVerdict verdict) {
  switch (verdict) {
    case ForwardVerdict::accepted: return "accepted";
    case ForwardVerdict::not_owner: return "not_owner";
    case ForwardVerdict::not_serving: return "not_serving";
  }
  return "not_owner";
}

// The one versioned block of wire types: every node of a cluster registers the same
// types under the same names (a type unknown to the receiver arrives empty).
void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<Error>("error");
  cfg.add_message_type<AuditRecord>("audit_record");
  cfg.add_message_type<component_status>("component_status");
  cfg.add_message_type<child_status>("child_status");
  cfg.add_message_type<std::vector<child_status>>("std::vector<child_status>");
  cfg.add_message_type<supervisor_status>("supervisor_status");
  cfg.add_message_type<child_failure>("child_failure");
  cfg.add_message_type<audit_receipt>("audit_receipt");
  cfg.add_message_type<container::RunOutput>("run_output");
  cfg.add_message_type<container::RunTransition>("run_transition");
  cfg.add_message_type<container::RunResult>("run_result");
  cfg.add_message_type<ipc_event>("ipc_event");
  cfg.add_message_type<exit_info>("exit_info");
  cfg.add_message_type<messaging::StoredMessage>("stored_message");
  cfg.add_message_type<std::vector<messaging::StoredMessage>>("std::vector<stored_message>");
  cfg.add_message_type<ingest_result>("ingest_result");
  cfg.add_message_type<routed_message>("routed_message");
  cfg.add_message_type<routed_batch>("routed_batch");
  cfg.add_message_type<scheduled_run>("scheduled_run");
  cfg.add_message_type<scheduled_run_result>("scheduled_run_result");
  cfg.add_message_type<outbound_message>("outbound_message");
  cfg.add_message_type<enqueue_result>("enqueue_result");
  cfg.add_message_type<http::Headers>("http_headers");
  cfg.add_message_type<storage::SqlParam>("sql_param");
  cfg.add_message_type<std::vector<storage::SqlParam>>("std::vector<sql_param>");
  cfg.add_message_type<storage::WriteOp>("write_op");
  cfg.add_message_type<storage::WriteOutcome>("write_outcome");
  cfg.add_message_type<cluster_hello>("sbc_hello");
  cfg.add_message_type<cluster_forward>("sbc_forward");
  cfg.add_message_type<cluster_forward_ack>("sbc_forward_ack");
  cfg.add_message_type<cluster_local_reply>("sbc_local_reply");
  cfg.add_message_type<cluster_member_status>("cluster_member_status");
  cfg.add_message_type<std::vector<cluster_member_status>>("std::vector<cluster_member_status>");
  cfg.add_message_type<cluster_status>("cluster_status");
}

}  // namespace sb::actors
