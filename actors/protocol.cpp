#include "actors/protocol.hpp"

namespace sb::actors {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<component_status>("component_status");
  cfg.add_message_type<child_status>("child_status");
  cfg.add_message_type<std::vector<child_status>>("std::vector<child_status>");
  cfg.add_message_type<supervisor_status>("supervisor_status");
  cfg.add_message_type<child_failure>("child_failure");
  cfg.add_message_type<audit_event>("audit_event");
  cfg.add_message_type<audit_receipt>("audit_receipt");
  cfg.add_message_type<run_output>("run_output");
  cfg.add_message_type<run_transition>("run_transition");
  cfg.add_message_type<run_result>("run_result");
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
  cfg.add_message_type<storage::SqlParam>("sql_param");
  cfg.add_message_type<std::vector<storage::SqlParam>>("std::vector<sql_param>");
  cfg.add_message_type<storage::WriteOp>("write_op");
  cfg.add_message_type<storage::WriteOutcome>("write_outcome");
}

}  // namespace sb::actors
