#pragma once
// Registration of the command families that live in their own files. Each adds its
// subcommands to `app`; the callbacks run the command and set ctx.exit_code.
#include <CLI/CLI.hpp>

#include "actors/app/cli/common.hpp"

namespace sb::app::cli {

void add_mounts_commands(CLI::App& app, CliContext& ctx);      // mounts_cmd.cpp: mounts check
void add_secret_commands(CLI::App& app, CliContext& ctx);      // secret_cmd.cpp: secret set|list|rm|rotate-key
void add_audit_commands(CLI::App& app, CliContext& ctx);       // audit_cmd.cpp: audit verify|tail
void add_channels_commands(CLI::App& app, CliContext& ctx);    // channels_cmd.cpp: channels list|send, outbox list
void add_namespaces_commands(CLI::App& app, CliContext& ctx);  // namespaces_cmd.cpp: ns, map, allow, routing
void add_chat_commands(CLI::App& app, CliContext& ctx);        // chat_cmd.cpp: chat (local chat channel)
void add_schedule_commands(CLI::App& app, CliContext& ctx);    // schedule_cmd.cpp: schedule add|list|...
void add_storage_commands(CLI::App& app, CliContext& ctx);     // storage_cmd.cpp: storage migrate
void add_cluster_commands(CLI::App& app, CliContext& ctx);     // cluster_cmd.cpp: cluster ca init, cert issue

inline void add_security_commands(CLI::App& app, CliContext& ctx) {
  add_mounts_commands(app, ctx);
  add_secret_commands(app, ctx);
  add_audit_commands(app, ctx);
  add_channels_commands(app, ctx);
  add_namespaces_commands(app, ctx);
  add_chat_commands(app, ctx);
  add_schedule_commands(app, ctx);
  add_storage_commands(app, ctx);
  add_cluster_commands(app, ctx);
}

}  // namespace sb::app::cli
