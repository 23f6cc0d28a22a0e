// In-process routing throughput (issue 6 target: >= 500k messages/s): the real router
// actor (routing table loaded from a temp database with 100 namespaces and 10k chat
// mappings) + the real NamespaceManager and Namespace actors with null services (no
// container starts: every routed message is pushed onto its namespace's TurnQueue).
// Inbound messages with distinct ids go in through route_atom, spread over every mapped
// chat (DMs: no trigger needed), until every namespace actor has taken all of them.
//
// End of the run: a Namespace actor handles its mailbox in order, so a reload_atom sent
// after the last message is handled after it. With chat_mappings renamed away, each
// actor's reload fails and logs `namespace.reload_failed namespace=NAME` (warn); the
// bench reads its own log through a pipe and stops the clock when every namespace has
// logged it. (The namespaces keep the table they had; the hot path does not read it.)
//
//   bench_router_throughput [--smoke] [--messages N] [--namespaces K] [--mappings M] [--chunk C]
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/namespaces/namespace_manager.hpp"
#include "actors/node/node.hpp"
#include "actors/routing/message_router.hpp"
#include "runtime/core/log.hpp"
#include "storage/migrations.hpp"
#include "storage/namespace_store.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Options {
  bool smoke = false;
  int64_t messages = 1'000'000;
  int namespaces = 100;
  int mappings = 10'000;
  int64_t chunk = 100'000;  // messages between two router barriers (bounds its mailbox)
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--smoke") {
      o.smoke = true;
    } else if (a.rfind("--benchmark_", 0) == 0) {
      // CTest's bench_smoke_* passes Google Benchmark flags; this is a plain main.
    } else if (a == "--messages" || a == "--namespaces" || a == "--mappings" || a == "--chunk") {
      const char* v = next();
      if (!v) return false;
      long long n = std::atoll(v);
      if (n <= 0) return false;
      if (a == "--messages")
        o.messages = n;
      else if (a == "--chunk")
        o.chunk = n;
      else if (a == "--namespaces")
        o.namespaces = static_cast<int>(n);
      else
        o.mappings = static_cast<int>(n);
    } else {
      return false;
    }
  }
  if (o.smoke) o.messages = std::min<int64_t>(o.messages, 20'000);
  if (o.mappings < o.namespaces) o.mappings = o.namespaces;
  return true;
}

// Counts `namespace.reload_failed` lines per namespace from the log pipe.
class ReloadWatcher {
 public:
  ReloadWatcher() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) std::perror("pipe2");
    reader_ = std::thread([this] { run(); });
  }
  ~ReloadWatcher() {
    ::close(fds_[1]);
    reader_.join();
    ::close(fds_[0]);
  }
  int write_fd() const { return fds_[1]; }
  // True once every one of `names` logged at least `n` failed reloads.
  bool all_at_least(const std::vector<std::string>& names, int n) {
    std::lock_guard lk(mutex_);
    for (const auto& name : names) {
      auto it = counts_.find(name);
      if (it == counts_.end() || it->second < n) return false;
    }
    return true;
  }

 private:
  void run() {
    std::string buf;
    char chunk[65536];
    while (true) {
      ssize_t n = ::read(fds_[0], chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t start = 0, nl;
      while ((nl = buf.find('\n', start)) != std::string::npos) {
        line(std::string_view(buf).substr(start, nl - start));
        start = nl + 1;
      }
      buf.erase(0, start);
    }
  }
  void line(std::string_view l) {
    if (l.find("namespace.reload_failed") == std::string_view::npos) return;
    auto p = l.find("namespace=");
    if (p == std::string_view::npos) return;
    p += 10;
    auto e = l.find_first_of(" \"", p);
    std::string name(l.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p));
    std::lock_guard lk(mutex_);
    ++counts_[name];
  }

  int fds_[2] = {-1, -1};
  std::thread reader_;
  std::mutex mutex_;
  std::map<std::string, int> counts_;
};

template <class Handle>
bool barrier(caf::scoped_actor& self, const Handle& h) {
  bool ok = false;
  self->request(h, caf::infinite, sb::actors::status_atom::value)
      .receive([&](const sb::actors::component_status&) { ok = true; },
               [&](caf::error& e) { std::fprintf(stderr, "status failed: %s\n", self->system().render(e).c_str()); });
  return ok;
}

// The router hands messages on with a flush it queues to itself behind its mailbox, which
// may come after a first status request: the second request comes after that flush.
bool router_barrier(caf::scoped_actor& self, const sb::actors::message_router_actor& router) {
  return barrier(self, router) && barrier(self, router);
}

bool wait_for(const std::function<bool()>& cond, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(200us);  // polling interval of the end detector
  }
  return cond();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(
        stderr,
        "usage: bench_router_throughput [--smoke] [--messages N] [--namespaces K] [--mappings M] [--chunk C]\n");
    return 2;
  }
  namespace actors = sb::actors;
  sb::test::TempDir dir("squadbox-bench-router");
  const std::string db_path = dir.file("squadbox.db");

  // 1. The database: K namespaces through the store, M DM mappings in one transaction.
  std::vector<std::string> ns_ids, ns_names, jids;
  {
    auto db = sb::storage::Database::open(db_path, {});
    if (!db || !sb::storage::migrate(*db)) {
      std::fprintf(stderr, "cannot create %s\n", db_path.c_str());
      return 1;
    }
  }
  {
    auto store = sb::storage::NamespaceStore::open(db_path, dir.file("data"));
    if (!store) {
      std::fprintf(stderr, "store: %s\n", store.error().message.c_str());
      return 1;
    }
    for (int i = 0; i < o.namespaces; ++i) {
      sb::namespaces::NamespacePatch p;
      char name[32];
      std::snprintf(name, sizeof name, "ns%03d", i);
      p.name = name;
      auto ns = (*store)->create(p);
      if (!ns) {
        std::fprintf(stderr, "create %s: %s\n", name, ns.error().message.c_str());
        return 1;
      }
      ns_ids.push_back(ns->id);
      ns_names.push_back(ns->name);
    }
  }
  {
    auto db = sb::storage::Database::open(db_path, {});
    if (!db || !db->exec("BEGIN")) return 1;
    auto stmt = db->prepare("INSERT INTO chat_mappings(jid, namespace_id, created_at) VALUES(?, ?, 0)");
    if (!stmt) return 1;
    for (int i = 0; i < o.mappings; ++i) {
      char jid[32];
      std::snprintf(jid, sizeof jid, "slack:D%06d", i);
      jids.push_back(jid);
      stmt->reset();
      if (!stmt->bind(1, std::string_view(jids.back())) ||
          !stmt->bind(2, std::string_view(ns_ids[static_cast<size_t>(i % o.namespaces)])) || !stmt->step()) {
        std::fprintf(stderr, "insert mapping failed\n");
        return 1;
      }
    }
    if (!db->exec("COMMIT")) return 1;
  }

  // 2. The actors, as the node runs them (same scheduler settings).
  sb::metrics::Registry metrics;
  sb::config::Config node_config;
  caf::actor_system_config cfg;
  actors::configure_actor_system(cfg, node_config);
  ReloadWatcher watcher;
  sb::log::set_fd(watcher.write_fd());
  int rc = 0;
  {
    caf::actor_system system{cfg};
    caf::scoped_actor self{system};
    actors::MessageRouterOptions ro;
    ro.metrics = &metrics;
    ro.db_path = db_path;
    auto router = actors::spawn_message_router(system, ro);
    system.registry().put(caf::atom("router"), caf::actor_cast<caf::strong_actor_ptr>(router));
    actors::NamespaceManagerOptions mo;
    mo.config = node_config.namespaces;
    mo.db_path = db_path;
    mo.metrics = &metrics;  // services null: queue only
    auto manager = actors::spawn_namespace_manager(system, mo);
    system.registry().put(caf::atom("namespaces"), caf::actor_cast<caf::strong_actor_ptr>(manager));
    std::string table;
    self->request(router, caf::infinite, actors::status_atom::value)
        .receive([&](const actors::component_status& s) { table = s.detail; }, [](caf::error&) {});
    {
      auto db = sb::storage::Database::open(db_path, {});
      if (!db || !db->exec("ALTER TABLE chat_mappings RENAME TO chat_mappings_hidden")) return 1;
    }

    auto message = [&](int64_t id) {
      sb::messaging::StoredMessage m;
      m.id = id;
      m.channel = "slack";
      m.bot = "main";
      m.chat_jid = jids[static_cast<size_t>(id) % jids.size()];
      m.sender_id = "U0SENDER1";
      m.sender_name = "Ada";
      m.text = "hello squad";
      m.timestamp_ms = 1'700'000'000'000 + id;
      return m;
    };
    // Warm-up: one message per namespace spawns its actor (which reads its rows).
    // Ids 1..K land on chats 1..K, whose namespaces are i % K: every namespace once.
    int64_t next_id = 1;
    for (; next_id <= o.namespaces; ++next_id) caf::anon_send(router, actors::route_atom::value, message(next_id));
    router_barrier(self, router);
    barrier(self, manager);
    caf::anon_send(manager, actors::reload_atom::value);
    // Each actor logs twice: its start (the table is hidden) and the reload.
    if (!wait_for([&] { return watcher.all_at_least(ns_names, 2); }, 120s)) {
      std::fprintf(stderr, "warm-up: not every namespace actor answered\n");
      rc = 1;
    }

    // 3. The measured run.
    const int64_t chunk = o.chunk;
    const auto t0 = Clock::now();
    for (int64_t sent = 0; sent < o.messages && rc == 0;) {
      const int64_t n = std::min(chunk, o.messages - sent);
      for (int64_t k = 0; k < n; ++k) caf::anon_send(router, actors::route_atom::value, message(next_id++));
      sent += n;
      router_barrier(self, router);  // bounds the router's mailbox
    }
    const auto t_router = Clock::now();
    barrier(self, manager);
    const auto t_manager = Clock::now();
    caf::anon_send(manager, actors::reload_atom::value);
    if (rc == 0 && !wait_for([&] { return watcher.all_at_least(ns_names, 3); }, 600s)) {
      std::fprintf(stderr, "not every namespace actor drained its mailbox\n");
      rc = 1;
    }
    const auto t_end = Clock::now();

    auto secs = [&](Clock::time_point t) { return std::chrono::duration<double>(t - t0).count(); };
    const uint64_t routed = metrics.counter("squadbox_router_routed_total", "", {{"channel", "slack"}}).value();
    std::printf("router table: %s\n", table.c_str());
    std::printf("messages: %lld over %d namespaces / %zu chats (%s)\n", static_cast<long long>(o.messages),
                o.namespaces, jids.size(), o.smoke ? "smoke" : "full");
    std::printf("router decided all:            %8.3f s  %10.0f msg/s\n", secs(t_router),
                static_cast<double>(o.messages) / secs(t_router));
    std::printf("manager handed all on:         %8.3f s  %10.0f msg/s\n", secs(t_manager),
                static_cast<double>(o.messages) / secs(t_manager));
    std::printf("every namespace enqueued all:  %8.3f s  %10.0f msg/s   (target >= 500000)\n", secs(t_end),
                static_cast<double>(o.messages) / secs(t_end));
    std::printf("squadbox_router_routed_total{channel=\"slack\"} = %llu (expected %lld)\n",
                static_cast<unsigned long long>(routed), static_cast<long long>(o.messages) + o.namespaces);

    system.registry().erase(caf::atom("router"));
    system.registry().erase(caf::atom("namespaces"));
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  }
  sb::log::set_fd(2);
  return rc;
}
