// `squadbox cluster ca init DIR` and `squadbox cluster cert issue NODE --ca DIR`: the
// cluster's private CA and node certificates (runtime/security/pki; docs/cluster.md).
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "actors/app/cli/commands.hpp"
#include "runtime/security/pki/cluster_pki.hpp"

namespace sb::app::cli {
namespace {

struct CaArgs {
  std::string dir;
  std::string name = "squadbox cluster CA";
  int days = 3650;
};

struct CertArgs {
  std::string node;
  std::string ca_dir;
  std::vector<std::string> alt_names;
  int days = 825;
};

int exit_for(const Error& e) {
  const bool usage =
      e.code == security::pki::kBadName || e.code == security::pki::kExists || e.code == security::pki::kNoCa;
  return usage ? kExitUsage : kExitRuntime;
}

int run_ca_init(const CaArgs& a) {
  auto files = security::pki::init_ca(a.dir, a.name, std::chrono::hours(24) * a.days);
  if (!files) {
    std::cerr << "squadbox: " << files.error().message << " [" << files.error().code << "]\n";
    return exit_for(files.error());
  }
  std::cout << "wrote " << files->cert_file << " (give it to every node: cluster.tls_ca_file)\n"
            << "wrote " << files->key_file << " (mode 0600: keep it off the nodes; it signs node certificates)\n";
  return kExitOk;
}

int run_cert_issue(const CertArgs& a) {
  auto files = security::pki::issue_node_cert(a.ca_dir, a.node, a.alt_names, std::chrono::hours(24) * a.days);
  if (!files) {
    std::cerr << "squadbox: " << files.error().message << " [" << files.error().code << "]\n";
    return exit_for(files.error());
  }
  std::cout << "wrote " << files->cert_file << " (cluster.tls_cert_file of node " << a.node << ")\n"
            << "wrote " << files->key_file << " (cluster.tls_key_file, mode 0600)\n";
  return kExitOk;
}

}  // namespace

void add_cluster_commands(CLI::App& app, CliContext& ctx) {
  auto* cluster = app.add_subcommand("cluster", "Certificates for the mutual TLS between cluster nodes");
  cluster->require_subcommand(1);

  auto* ca = cluster->add_subcommand("ca", "The cluster's certificate authority");
  ca->require_subcommand(1);
  auto ca_args = std::make_shared<CaArgs>();
  auto* init = ca->add_subcommand("init", "Make a CA: DIR/ca.crt and DIR/ca.key (EC P-256); never overwrites");
  init->add_option("dir", ca_args->dir, "Directory for ca.crt and ca.key (created, mode 0700)")->required();
  init->add_option("--name", ca_args->name, "The CA certificate's common name");
  init->add_option("--days", ca_args->days, "Validity in days")->check(CLI::Range(1, 36500));
  init->callback([&ctx, ca_args] { ctx.exit_code = run_ca_init(*ca_args); });

  auto* cert = cluster->add_subcommand("cert", "Node certificates");
  cert->require_subcommand(1);
  auto cert_args = std::make_shared<CertArgs>();
  auto* issue = cert->add_subcommand(
      "issue", "Sign a certificate for node NODE with the CA in DIR: DIR/NODE.crt and DIR/NODE.key; never overwrites");
  issue->add_option("node", cert_args->node, "The node's name (cluster.node_name): a-z, 0-9, '-'")->required();
  issue->add_option("--ca", cert_args->ca_dir, "Directory holding ca.crt and ca.key")->required();
  issue->add_option("--san", cert_args->alt_names, "Another DNS name or IP address of the node (repeatable)");
  issue->add_option("--days", cert_args->days, "Validity in days")->check(CLI::Range(1, 3650));
  issue->callback([&ctx, cert_args] { ctx.exit_code = run_cert_issue(*cert_args); });
}

}  // namespace sb::app::cli
