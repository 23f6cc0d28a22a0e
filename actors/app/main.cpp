// The squadbox command line. Exit codes: 0 success, 1 runtime failure,
// 2 usage or configuration error.
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <caf/config.hpp>

#include "actors/app/cli/commands.hpp"
#include "actors/app/cli/common.hpp"
#include "actors/app/cli/cowork.hpp"
#include "actors/app/serve.hpp"
#include "runtime/config/config.hpp"
#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/select/backend_selection.hpp"
#include "runtime/core/log.hpp"
#include "runtime/http/client.hpp"

#ifndef SQUADBOX_VERSION
#define SQUADBOX_VERSION "0.0.0-dev"
#endif

namespace {

using sb::app::cli::add_common;
using sb::app::cli::configure_logging;
using sb::app::cli::kExitRuntime;
using sb::app::cli::kExitUsage;
using sb::app::cli::load_config;
using sb::container::oci::debian_plan;

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the mask and only serve()'s
  // sigwait sees SIGTERM/SIGINT.
  sb::app::block_shutdown_signals();

  CLI::App app{
      "squadbox — a self-hosted gateway that runs AI squad agents in isolated\n"
      "containers and connects them to Slack, Discord, WhatsApp and Telegram."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");

  sb::app::cli::CliContext ctx;
  auto& common = ctx.common;

  auto* serve = app.add_subcommand("serve", "Run a broker node (admin API, actor tree, storage)");
  add_common(serve, common);

  auto* version = app.add_subcommand("version", "Print the version and the library versions");

  auto* config_cmd = app.add_subcommand("config", "Inspect configuration");
  config_cmd->require_subcommand(1);
  std::string check_file;
  auto* check = config_cmd->add_subcommand("check", "Validate a configuration file (exit 2 if invalid)");
  check->add_option("FILE", check_file, "TOML file to check")->required();
  auto* show = config_cmd->add_subcommand("show", "Print the effective configuration as TOML");
  add_common(show, common);
  auto* keys = config_cmd->add_subcommand("keys", "List every configuration key as a Markdown table");

  auto* status = app.add_subcommand("status", "Ask a running node for its status (GET /api/v1/node)");
  sb::app::cli::add_client(status, ctx);

  // Command families in their own files; their callbacks set ctx.exit_code.
  sb::app::cli::add_security_commands(app, ctx);

  sb::app::cli::CoworkOptions cowork_opts;
  auto* cowork = app.add_subcommand("cowork", "Run one agent container on a local folder and stream its output");
  add_common(cowork, common);
  cowork->add_option("-w,--workspace", cowork_opts.workspace, "Folder mounted read-write at /workspace")->required();
  cowork->add_option("--mount", cowork_opts.mounts,
                     "Extra mount NAME=PATH[:rw] at /workspace/extra/NAME (read-only unless :rw)");
  cowork->add_option("--image", cowork_opts.image, "Agent image (default: container.image)");
  cowork->add_option("--backend", cowork_opts.backend, "Container backend")
      ->check(CLI::IsMember({"oci", "docker", "apple"}));
  cowork->add_option("--timeout", cowork_opts.timeout, "Hard timeout, e.g. 30m (0 = none)")->capture_default_str();
  cowork->add_option("--idle-timeout", cowork_opts.idle_timeout, "Stop when the agent is silent this long (0 = never)")
      ->capture_default_str();
  cowork->add_option("--mode", cowork_opts.agent.mode, "Agent mode (default: container.agent_mode)")
      ->check(CLI::IsMember({"echo", "exec", "llm"}));
  cowork->add_option("--route", cowork_opts.agent.route, "Proxy route of the llm mode (implies --mode llm)");
  cowork->add_option("--protocol", cowork_opts.agent.protocol, "API of the route (implies --mode llm)")
      ->check(CLI::IsMember({"anthropic", "openai"}));
  cowork->add_option("--model", cowork_opts.agent.model, "Model name (implies --mode llm)");
  cowork->add_option("PROMPT", cowork_opts.prompt, "What to ask the agent (after --)");

  auto* image = app.add_subcommand("image", "Manage the local agent images (oci backend)");
  image->require_subcommand(1);
  std::string agent_path, image_ref = sb::container::oci::kDefaultAgentImage, import_source;
  bool image_debian = false;
  std::string image_packages, image_mirror, image_suite = sb::container::oci::kDefaultDebianSuite;
  auto* image_build = image->add_subcommand(
      "build", "Build an agent image: busybox + squadbox-agent (default), or Debian 12 with --debian");
  add_common(image_build, common);
  image_build->add_option("--agent", agent_path, "Static squadbox-agent binary (default: next to squadbox)");
  auto* image_tag = image_build->add_option(
      "--tag", image_ref, "Image reference (default squadbox-agent:latest; with --debian squadbox-debian:latest)");
  image_build->add_flag("--debian", image_debian,
                        "A Debian minbase image made by mmdebstrap from this machine's Debian mirror");
  image_build->add_option("--packages", image_packages, "With --debian: more packages, e.g. git,python3,curl");
  image_build->add_option("--mirror", image_mirror,
                          "With --debian: the mirror URL (default: the one in /etc/apt/sources.list.d/debian.sources)");
  image_build->add_option("--suite", image_suite, "With --debian: the Debian suite")->capture_default_str();
  auto* image_import = image->add_subcommand("import", "Import an OCI layout or a docker/OCI archive");
  add_common(image_import, common);
  image_import->add_option("SOURCE", import_source, "docker-archive:PATH, oci-archive:PATH, oci:DIR or a path")
      ->required();
  image_import->add_option("REF", image_ref, "name[:tag] to store it as")->required();
  auto* image_list = image->add_subcommand("list", "List the local images");
  add_common(image_list, common);

  auto* runtime = app.add_subcommand("runtime", "Container runtime");
  runtime->require_subcommand(1);
  std::string runtime_backend;
  auto* runtime_status = runtime->add_subcommand("status", "Detect the container runtime and print its status as JSON");
  add_common(runtime_status, common);
  runtime_status->add_option("--backend", runtime_backend, "Check this backend instead of container.runtime")
      ->check(CLI::IsMember({"auto", "oci", "docker", "apple"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (ctx.exit_code) return *ctx.exit_code;

  if (*version) {
    std::cout << "squadbox " << SQUADBOX_VERSION << " (CAF " << CAF_MAJOR_VERSION << "." << CAF_MINOR_VERSION << "."
              << CAF_PATCH_VERSION << ", SQLite " << sqlite3_libversion() << ")\n";
    return 0;
  }
  if (*check) {
    auto config = sb::config::load(check_file, {});
    if (!config) {
      std::cerr << "squadbox: invalid configuration: " << config.error().message << "\n";
      return kExitUsage;
    }
    std::cout << check_file << ": ok\n";
    return 0;
  }
  if (*keys) {
    std::cout << sb::config::markdown_table();
    return 0;
  }
  if (*show) {
    auto config = load_config(common);
    if (!config) return kExitUsage;
    std::cout << sb::config::to_toml(*config);
    return 0;
  }
  if (*status) return sb::app::cli::print_get(ctx, "/api/v1/node");
  if (*cowork) {
    auto config = load_config(common);
    if (!config) return kExitUsage;
    sb::log::configure(sb::log::Level::warn, sb::log::Format::logfmt);  // stdout is the agent's
    return sb::app::cli::run_cowork(*config, cowork_opts);
  }
  if (*image_build || *image_import || *image_list) {
    auto config = load_config(common);
    if (!config) return kExitUsage;
    sb::container::oci::ImageStore store(std::filesystem::path(config->node.data_dir) / "images");
    if (*image_list) {
      for (const auto& ref : store.list()) std::cout << ref << "\n";
      return 0;
    }
    sb::Status s;
    if (*image_build) {
      if (agent_path.empty())
        agent_path = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "squadbox-agent").string();
      if (image_debian) {
        if (!image_tag->count()) image_ref = sb::container::oci::kDefaultDebianImage;
        auto plan = debian_plan(image_packages, image_mirror, image_suite);
        s = plan ? store.build_debian_image(agent_path, *plan, image_ref) : sb::Status(plan.error());
      } else {
        s = store.build_default_image(agent_path, image_ref);
      }
    } else {
      s = store.import_archive(import_source, image_ref);
    }
    if (!s) {
      std::cerr << "squadbox image: " << s.error().message << "\n";
      return kExitRuntime;
    }
    std::cout << image_ref << "\n";
    return 0;
  }
  if (*runtime_status) {
    auto config = load_config(common);
    if (!config) return kExitUsage;
    std::optional<std::string> which;
    if (!runtime_backend.empty()) which = runtime_backend;
    auto opened = sb::container::select::open_runtime(*config, which);
    sb::container::select::RuntimeStatus st;
    if (opened)
      st = opened->status;
    else
      st.message = opened.error().message;
    std::cout << sb::container::select::to_json(st) << "\n";
    return st.available ? 0 : kExitRuntime;
  }
  if (*serve) {
    auto config = load_config(common);
    if (!config) return kExitUsage;
    if (!configure_logging(*config)) return kExitUsage;
    return sb::app::serve(*config, SQUADBOX_VERSION);
  }
  return kExitUsage;
}
