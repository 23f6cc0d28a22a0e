// `squadbox cluster ca init DIR` and `squadbox cluster cert issue NODE --ca DIR`: the
// cluster's private CA and node certificates (runtime/security/pki; docs/cluster.md).
// `squadbox cluster status|drain|undrain`: thin clients of a running node's admin API.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "actors/app/cli/commands.hpp"
#include "runtime/http/message.hpp"
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

// A table for people: one row per member, then who owns which namespaces and bots.
void print_status(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    std::cout << body << "\n";
    return;
  }
  if (!doc.HasMember("enabled") || !doc["enabled"].GetBool()) {
    std::cout << "not a cluster (cluster.enabled = false): this node owns everything\n";
    return;
  }
  auto text = [](const rapidjson::Value& v, const char* key) -> std::string {
    return v.HasMember(key) && v[key].IsString() ? v[key].GetString() : "";
  };
  std::cout << "this node: " << text(doc, "self") << (doc["serving"].GetBool() ? " (serving)" : " (NOT serving)")
            << ", lease ttl " << doc["leaseTtlMs"].GetInt64() << " ms\n";
  std::printf("%-20s %-22s %-9s %-5s %-10s %-12s %-10s %s\n", "MEMBER", "ADDRESS", "STATE", "LIVE", "LEASE AGE",
              "CONNECTION", "NAMESPACES", "BOTS");
  for (const auto& m : doc["members"].GetArray()) {
    std::string bots;
    for (const auto& b : m["bots"].GetArray()) bots += (bots.empty() ? "" : ",") + std::string(b.GetString());
    std::printf("%-20s %-22s %-9s %-5s %-10s %-12s %-10zu %s\n", text(m, "name").c_str(), text(m, "advertise").c_str(),
                text(m, "state").c_str(), m["live"].GetBool() ? "yes" : "no",
                (std::to_string(m["leaseAgeMs"].GetInt64()) + " ms").c_str(), text(m, "connection").c_str(),
                static_cast<size_t>(m["namespaces"].GetArray().Size()), bots.empty() ? "-" : bots.c_str());
  }
  for (const auto& m : doc["members"].GetArray())
    for (const auto& ns : m["namespaces"].GetArray())
      std::cout << "  namespace " << text(ns, "name") << " (" << text(ns, "id") << ") on " << text(m, "name") << "\n";
}

int run_status(const CliContext& ctx, const std::string& output) {
  auto r = call_node(ctx, {"GET", "/api/v1/cluster", "", std::chrono::seconds(10)});
  if (auto* code = std::get_if<int>(&r)) return *code;
  const auto& resp = std::get<ClientResponse>(r);
  if (resp.status != 200) return report_failure(resp);
  if (output == "json") {
    std::cout << resp.body << (resp.body.ends_with("\n") ? "" : "\n");
  } else {
    print_status(resp.body);
  }
  return kExitOk;
}

int run_member_action(const CliContext& ctx, const std::string& member, const char* action) {
  auto r = call_node(
      ctx, {"POST", "/api/v1/cluster/members/" + percent_encode(member) + "/" + action, "", std::chrono::seconds(10)});
  if (auto* code = std::get_if<int>(&r)) return *code;
  const auto& resp = std::get<ClientResponse>(r);
  if (resp.status != 200) return report_failure(resp);
  std::cout << member << ": " << (std::string(action) == "drain" ? "draining" : "active")
            << (std::string(action) == "drain"
                    ? " (its namespaces move away between turns; `squadbox cluster status` shows where)"
                    : "")
            << "\n";
  return kExitOk;
}

}  // namespace

void add_cluster_commands(CLI::App& app, CliContext& ctx) {
  auto* cluster = app.add_subcommand("cluster", "Cluster members, drain, and the certificates between nodes");
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

  auto output = std::make_shared<std::string>("table");
  auto* status = cluster->add_subcommand("status", "Members, their leases and connections, and what each owns");
  status->add_option("-o,--output", *output, "table or json")->check(CLI::IsMember({"table", "json"}));
  add_client(status, ctx);
  status->callback([&ctx, output] { ctx.exit_code = run_status(ctx, *output); });

  auto member = std::make_shared<std::string>();
  auto* drain = cluster->add_subcommand("drain", "Move a member's namespaces and bots to the others (between turns)");
  drain->add_option("node", *member, "The member's name (cluster.node_name)")->required();
  add_client(drain, ctx);
  drain->callback([&ctx, member] { ctx.exit_code = run_member_action(ctx, *member, "drain"); });
  auto* undrain = cluster->add_subcommand("undrain", "Let a drained member take work again");
  undrain->add_option("node", *member, "The member's name")->required();
  add_client(undrain, ctx);
  undrain->callback([&ctx, member] { ctx.exit_code = run_member_action(ctx, *member, "undrain"); });
}

}  // namespace sb::app::cli
