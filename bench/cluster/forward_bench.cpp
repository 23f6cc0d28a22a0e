// Cross-node forward latency (issue 18): node A sends the owner's peer on node B a routed
// batch of one message and waits for the verdict, over CAF io + OpenSSL with mutual TLS on
// loopback (the cluster's own transport, types and settings), next to the same request to
// the same actor from inside node B's process. Prints p50/p99/mean of both and their ratio.
// Targets: p50 <= 1 ms, p99 <= 5 ms.
//
//   bench_cluster_forward [--smoke] [--requests N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <caf/openssl/all.hpp>

#include "actors/cluster/cluster_node.hpp"
#include "actors/cluster/cluster_transport.hpp"
#include "actors/protocol.hpp"
#include "runtime/core/log.hpp"
#include "runtime/security/pki/cluster_pki.hpp"
#include "tests/support/raw_socket.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using sb::actors::cluster_forward;
using sb::actors::cluster_forward_ack;
using sb::actors::cluster_peer_actor;
using sb::actors::forward_atom;

sb::config::Config node_config(const std::string& pki, const std::string& name, uint16_t port) {
  sb::config::Config c;
  c.storage.backend = "postgres";
  c.cluster.enabled = true;
  c.cluster.node_name = name;
  c.cluster.listen = "127.0.0.1:" + std::to_string(port);
  c.cluster.tls_cert_file = pki + "/" + name + ".crt";
  c.cluster.tls_key_file = pki + "/" + name + ".key";
  c.cluster.tls_ca_file = pki + "/ca.crt";
  return c;
}

cluster_forward one_message_batch() {
  cluster_forward f;
  f.from_member = "node-a";
  f.epoch = 1;
  f.batch.namespace_id = "5b8e1c1e-6f0b-4a57-9a36-1d1f0c6f7a11";
  f.batch.namespace_name = "squad";
  sb::messaging::StoredMessage m;
  m.id = 42;
  m.channel = "slack";
  m.bot = "main";
  m.chat_jid = "slack:C0123456";
  m.sender_id = "U0HUMAN01";
  m.sender_name = "Alice";
  m.text = "@Andy can you summarise the last three deploy logs and open an issue for anything red?";
  m.platform_message_id = "Ev0123456789";
  f.batch.messages.push_back(m);
  return f;
}

struct Figures {
  double p50_ms = 0, p99_ms = 0, mean_ms = 0;
};

Figures measure(caf::actor_system& sys, const cluster_peer_actor& peer, int n) {
  caf::scoped_actor self{sys};
  const auto batch = one_message_batch();
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n + n / 10; ++i) {  // the first tenth warms up
    const auto t0 = clock_type::now();
    bool ok = false;
    self->request(peer, std::chrono::seconds(5), forward_atom::value, batch)
        .receive([&](const cluster_forward_ack&) { ok = true; }, [&](caf::error&) {});
    const double d = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    if (!ok) {
      std::fprintf(stderr, "forward %d failed\n", i);
      std::exit(1);
    }
    if (i >= n / 10) ms.push_back(d);
  }
  std::sort(ms.begin(), ms.end());
  Figures f;
  f.p50_ms = ms[ms.size() / 2];
  f.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  double sum = 0;
  for (double v : ms) sum += v;
  f.mean_ms = sum / static_cast<double>(ms.size());
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  int requests = 5000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--smoke") {
      smoke = true;
    } else if (a == "--requests" && i + 1 < argc) {
      requests = std::max(10, std::atoi(argv[++i]));
    }
  }
  if (smoke) requests = 200;
  sb::log::configure(sb::log::Level::warn, sb::log::Format::logfmt);
  sb::test::TempDir dir("sb-bench-cluster");
  const std::string pki = dir.file("pki");
  if (!sb::security::pki::init_ca(pki) || !sb::security::pki::issue_node_cert(pki, "node-a") ||
      !sb::security::pki::issue_node_cert(pki, "node-b")) {
    std::fprintf(stderr, "cannot make the certificates\n");
    return 1;
  }
  const auto a_cfg = node_config(pki, "node-a", sb::test::unused_loopback_port());
  const auto b_cfg = node_config(pki, "node-b", sb::test::unused_loopback_port());
  for (const auto* c : {&a_cfg, &b_cfg})
    if (auto ok = sb::actors::check_cluster_credentials(c->cluster); !ok) {
      std::fprintf(stderr, "%s\n", ok.error().message.c_str());
      return 1;
    }
  caf::actor_system_config cfg_a, cfg_b;
  sb::actors::add_message_types(cfg_a);
  sb::actors::add_message_types(cfg_b);
  sb::actors::configure_cluster_transport(cfg_a, a_cfg.cluster);
  sb::actors::configure_cluster_transport(cfg_b, b_cfg.cluster);
  caf::actor_system node_a{cfg_a};
  caf::actor_system node_b{cfg_b};

  sb::actors::ClusterOptions opts;
  opts.config = b_cfg;
  opts.view = std::make_shared<sb::cluster::OwnershipView>("node-b");
  auto published = sb::actors::publish_cluster_peer(node_b, opts);
  if (!published) {
    std::fprintf(stderr, "%s\n", published.error().message.c_str());
    return 1;
  }
  auto port = sb::actors::parse_host_port(b_cfg.cluster.listen);
  auto remote = caf::openssl::remote_actor<cluster_peer_actor>(node_a, port->host, port->port);
  if (!remote) {
    std::fprintf(stderr, "connect: %s\n", node_a.render(remote.error()).c_str());
    return 1;
  }
  const auto over_tls = measure(node_a, *remote, requests);
  const auto in_process = measure(node_b, *published, requests);
  std::printf(
      "[bench] cluster forward (1-message batch, request -> verdict), %d requests\n"
      "  node A -> node B over loopback mutual TLS: p50 %.3f ms, p99 %.3f ms, mean %.3f ms "
      "(targets: p50 <= 1 ms, p99 <= 5 ms)\n"
      "  same actor from inside node B:            p50 %.3f ms, p99 %.3f ms, mean %.3f ms\n"
      "  ratio cross-node / in-process: p50 %.2fx, p99 %.2fx\n",
      requests, over_tls.p50_ms, over_tls.p99_ms, over_tls.mean_ms, in_process.p50_ms, in_process.p99_ms,
      in_process.mean_ms, over_tls.p50_ms / in_process.p50_ms, over_tls.p99_ms / in_process.p99_ms);
  caf::anon_send_exit(*published, caf::exit_reason::user_shutdown);
  return 0;
}
