// The chaos driver (docs/failure-behaviour.md): the real `squadbox serve` with real crun
// containers (echo agent) and one loopback fake of the four platforms, under a steady
// stream of signed webhooks to several namespaces, while the broker is SIGKILLed and
// restarted at random moments, an agent container is killed mid-turn, the data
// directory's file system fills up and the database's write lock is held by another
// process. At the end, for every delivery that got a 2xx: its message reached its
// namespace exactly once and exactly one reply carrying it reached the platform.
// Deliveries answered 5xx (or not at all) are retried as the platforms do.
//
//   sb_chaos [--seconds N] [--kills N] [--rate PER_SECOND] [--namespaces N] [--seed N]
//
// Prints the figures and exits 0 only when nothing acked was lost, the broker doubled
// nothing, boundary re-sends stay within the documented limit, `audit verify` passes
// and no container or run directory is left behind. Needs root (crun, tmpfs).
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/e2e/e2e_node.hpp"
#include "tests/e2e/fake_platform.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace sb::test;
using namespace sb::test::e2e;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int seconds = 60;
  int kills = 10;
  double rate = 20;  // webhooks per second, all platforms together
  int namespaces = 3;
  unsigned seed = 0;  // 0: random
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--seconds")
      o.seconds = std::stoi(v);
    else if (k == "--kills")
      o.kills = std::stoi(v);
    else if (k == "--rate")
      o.rate = std::stod(v);
    else if (k == "--namespaces")
      o.namespaces = std::stoi(v);
    else if (k == "--seed")
      o.seed = static_cast<unsigned>(std::stoul(v));
    else {
      std::cerr << "unknown option " << k << "\n";
      std::exit(2);
    }
  }
  return o;
}

enum class Platform { slack, discord, whatsapp, telegram };
const char* name(Platform p) {
  switch (p) {
    case Platform::slack: return "slack";
    case Platform::discord: return "discord";
    case Platform::whatsapp: return "whatsapp";
    case Platform::telegram: return "telegram";
  }
  return "?";
}

// One message a platform delivers, retried with the same identity until acked.
struct Delivery {
  int64_t seq = 0;
  Platform platform = Platform::slack;
  std::string token;  // "[cN]": unique text that the echo reply carries back
  std::string chat;   // the JID its reply goes to (Discord: the interaction's follow-up)
  Webhook hook;
  std::function<void(Webhook&)> resign;  // a platform retry signs again (fresh timestamp)
  int attempts = 0;
  int first_status = 0;
  bool acked = false;
  Clock::time_point next_try;
};

struct Shared {
  std::mutex url_mutex;
  std::string url;  // the webhook listener's base URL ("" while the broker is down)
  std::mutex mutex;
  std::deque<std::shared_ptr<Delivery>> due;  // to (re)send
  std::vector<std::shared_ptr<Delivery>> all;
  std::atomic<bool> sending{true};
  std::atomic<uint64_t> status_2xx{0}, status_5xx{0}, status_other{0}, no_answer{0};
};

// The chats: per platform and namespace one chat, mapped to that namespace.
struct Chat {
  Platform platform;
  std::string native;  // Slack channel, Discord channel id, WhatsApp number, Telegram id
  std::string jid;
  std::string ns;
};

std::shared_ptr<Delivery> make_delivery(int64_t seq, const Chat& chat) {
  auto d = std::make_shared<Delivery>();
  d->seq = seq;
  d->platform = chat.platform;
  d->token = "[c" + std::to_string(seq) + "]";
  const std::string text = "chaos " + d->token;
  switch (chat.platform) {
    case Platform::slack: {
      d->hook = slack_message("main", chat.native, "U0CHAOS01", text, true);
      d->chat = chat.jid;
      d->resign = [](Webhook& w) {
        const std::string now = std::to_string(unix_seconds());
        auto v = sb::channels::slack::Verifier::create(sb::Secret(kSlackSigning));
        w.headers = {{"Content-Type", "application/json"},
                     {"X-Slack-Request-Timestamp", now},
                     {"X-Slack-Signature", v->sign(now, w.body)},
                     {"X-Slack-Retry-Num", "1"},
                     {"X-Slack-Retry-Reason", "http_error"}};
      };
      break;
    }
    case Platform::discord: {
      std::string token;
      d->hook = discord_command("helper", chat.native, "80351110224678912", text, &token);
      d->chat = "dc-interaction:" + token;
      d->resign = [](Webhook& w) { w = resign_discord(w); };
      break;
    }
    case Platform::whatsapp:
      d->hook = whatsapp_message("shop", chat.native, text);
      d->chat = chat.jid;
      d->resign = [](Webhook&) {};  // the signature covers the body only
      break;
    case Platform::telegram:
      d->hook = telegram_message("tgbot", std::stoll(chat.native), std::stoll(chat.native), text, false);
      d->chat = chat.jid;
      d->resign = [](Webhook&) {};
      break;
  }
  return d;
}

// Every occurrence of "[cN]" in `text`.
std::vector<std::string> tokens_in(const std::string& text) {
  std::vector<std::string> out;
  for (size_t at = text.find("[c"); at != std::string::npos; at = text.find("[c", at + 2)) {
    const size_t end = text.find(']', at);
    if (end == std::string::npos) break;
    const std::string t = text.substr(at, end - at + 1);
    if (t.size() > 3 && t.find_first_not_of("0123456789", 2) == t.size() - 1) out.push_back(t);
  }
  return out;
}

// " MAJOR:MINOR " of the file system holding `path`: how a mountinfo line names it, also
// inside a container (whose mount points are elsewhere).
std::string device_tag(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return " " + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)) + " ";
}

// The pids of container processes: other mount namespaces that mount the data dir's
// file system (the broker itself shares ours and is not counted).
std::vector<pid_t> container_pids(const std::string& tag) {
  std::string own_ns;
  {
    std::error_code ec;
    own_ns = fs::read_symlink("/proc/self/ns/mnt", ec).string();
  }
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code nec;
    if (fs::read_symlink("/proc/" + pid + "/ns/mnt", nec).string() == own_ns || nec) continue;
    std::ifstream in("/proc/" + pid + "/mountinfo");
    std::string all((std::istreambuf_iterator<char>(in)), {});
    if (all.find(tag) != std::string::npos) out.push_back(static_cast<pid_t>(std::stol(pid)));
  }
  return out;
}

size_t processes_mounting(const std::string& tag) {
  return container_pids(tag).size();
}

void sender_loop(Shared& sh) {
  while (true) {
    std::shared_ptr<Delivery> d;
    {
      std::lock_guard lk(sh.mutex);
      if (!sh.due.empty() && sh.due.front()->next_try <= Clock::now()) {
        d = sh.due.front();
        sh.due.pop_front();
      }
    }
    if (!d) {
      if (!sh.sending.load()) {
        std::lock_guard lk(sh.mutex);
        if (sh.due.empty()) return;
      }
      std::this_thread::sleep_for(5ms);
      continue;
    }
    if (d->attempts > 0) d->resign(d->hook);
    ++d->attempts;
    std::string url;
    {
      std::lock_guard lk(sh.url_mutex);
      url = sh.url;
    }
    auto r = url.empty() ? sb::Result<sb::http::Response>(sb::make_error("down", "down"))
                         : sb::http::request("POST", url + d->hook.path, d->hook.headers, d->hook.body, 10s);
    const int status = r ? r->status : 0;
    if (d->first_status == 0) d->first_status = status;
    if (status >= 200 && status < 300) {
      d->acked = true;
      ++sh.status_2xx;
      continue;
    }
    (status >= 500 ? sh.status_5xx : status == 0 ? sh.no_answer : sh.status_other)++;
    if (status >= 400 && status < 500) continue;  // refused for good: never acked, not retried
    // Retried like a platform does: backoff, the same event, for up to ~3 minutes.
    if (d->attempts >= 40) continue;
    d->next_try = Clock::now() + std::min<std::chrono::milliseconds>(5s, 250ms * d->attempts);
    std::lock_guard lk(sh.mutex);
    sh.due.push_back(d);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  if (::geteuid() != 0) {
    std::cerr << "sb_chaos: needs root (crun containers, a tmpfs data dir)\n";
    return 2;
  }
  std::mt19937 rng(opt.seed ? opt.seed : std::random_device{}());
  if (std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null") != 0) {
    std::cerr << "sb_chaos: deploy/prepare-host.sh failed\n";
    return 2;
  }
  TempDir dir("squadbox-chaos");
  // The data directory on a small file system of its own, so that it can be filled.
  const std::string data = dir.path() + "/data";
  fs::create_directories(data);
  if (::mount("tmpfs", data.c_str(), "tmpfs", 0, "size=1536m,mode=0755") != 0) {
    std::perror("sb_chaos: mount tmpfs");
    return 2;
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{data};

  FakePlatform platform;
  NodeSettings settings;
  settings.platform_url = platform.url();
  settings.log_level = "warn";
  settings.extra_config = "[node]\nshutdown_timeout_ms = 5000\n";
  E2ENode node(dir.path(), settings);
  if (auto err = node.prepare(); !err.empty()) {
    std::cerr << "sb_chaos: " << err << "\n";
    return 2;
  }
  if (auto err = node.start(); !err.empty()) {
    std::cerr << "sb_chaos: " << err << "\n";
    return 2;
  }

  // Namespaces and one chat per platform in each.
  std::vector<Chat> chats;
  for (int i = 0; i < opt.namespaces; ++i) {
    const std::string ns = "chaos" + std::to_string(i);
    auto r = node.admin("POST", "/api/v1/container/namespaces", R"({"name":")" + ns + R"(","description":"chaos"})");
    if (!r || r->status != 201) {
      std::cerr << "sb_chaos: create namespace: " << (r ? r->body : r.error().message) << "\n";
      return 2;
    }
    chats.push_back({Platform::slack, "D0CHAOS" + std::to_string(i), "slack:D0CHAOS" + std::to_string(i), ns});
    chats.push_back({Platform::discord, std::to_string(772908445358620800 + i),
                     "dc:" + std::to_string(772908445358620800 + i), ns});
    chats.push_back(
        {Platform::whatsapp, "4915100000" + std::to_string(10 + i), "wa:4915100000" + std::to_string(10 + i), ns});
    chats.push_back({Platform::telegram, std::to_string(700000 + i), "tg:" + std::to_string(700000 + i), ns});
  }
  for (const auto& c : chats) {
    auto r =
        node.admin("POST", "/api/v1/container/mappings", R"({"jid":")" + c.jid + R"(","namespace":")" + c.ns + R"("})");
    if (!r || r->status != 201) {
      std::cerr << "sb_chaos: map " << c.jid << ": " << (r ? r->body : r.error().message) << "\n";
      return 2;
    }
  }

  Shared sh;
  sh.url = node.webhooks_url();
  std::vector<std::thread> senders;
  for (int i = 0; i < 4; ++i) senders.emplace_back([&] { sender_loop(sh); });

  // Fault plan: kills spread over the run at random moments; the other faults once each.
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(opt.seconds);
  std::vector<Clock::time_point> kill_at;
  std::uniform_real_distribution<double> when(0.1, 0.85);
  for (int i = 0; i < opt.kills; ++i)
    kill_at.push_back(start + std::chrono::milliseconds(static_cast<int64_t>(when(rng) * opt.seconds * 1000)));
  std::sort(kill_at.begin(), kill_at.end());
  const auto container_kill_at = start + std::chrono::milliseconds(opt.seconds * 150);
  const auto disk_full_at = start + std::chrono::milliseconds(opt.seconds * 350);
  const auto lock_at = start + std::chrono::milliseconds(opt.seconds * 550);
  bool container_killed = false, disk_filled = false, lock_held = false;  // the fault thread's
  const std::string tag = device_tag(data);

  // The faults run on their own thread: deliveries keep coming while the broker is down,
  // the disk is full or the write lock is held (and are retried like a platform does).
  std::atomic<int> kills{0};
  std::atomic<bool> restart_failed{false};
  std::chrono::milliseconds longest_outage{0};
  std::string fault_log;
  std::thread faults([&] {
    size_t next_kill = 0;
    while (Clock::now() < end && !restart_failed) {
      const auto now = Clock::now();
      if (next_kill < kill_at.size() && now >= kill_at[next_kill]) {
        ++next_kill;
        const auto down = Clock::now();
        {
          std::lock_guard lk(sh.url_mutex);
          sh.url.clear();  // not a signal to the senders: they find out by failing, as platforms do
        }
        node.kill();
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 800)(rng)));
        if (auto err = node.start(); !err.empty()) {
          std::cerr << "sb_chaos: restart after kill " << kills + 1 << " failed: " << err << "\n";
          restart_failed = true;
          return;
        }
        {
          std::lock_guard lk(sh.url_mutex);
          sh.url = node.webhooks_url();
        }
        longest_outage =
            std::max(longest_outage, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - down));
        ++kills;
      }
      if (!container_killed && now >= container_kill_at) {
        auto pids = container_pids(tag);
        if (!pids.empty() || now >= container_kill_at + 10s) {
          container_killed = true;
          if (!pids.empty()) ::kill(pids[std::uniform_int_distribution<size_t>(0, pids.size() - 1)(rng)], SIGKILL);
          fault_log += " container-kill(" + std::to_string(pids.size()) + " processes seen)";
        }
      }
      if (!disk_filled && now >= disk_full_at) {
        disk_filled = true;
        // Everything but what the file system keeps back, held for three seconds, then freed.
        struct statvfs vfs {};
        ::statvfs(data.c_str(), &vfs);
        const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
        const std::string filler = data + "/filler";
        {
          std::ofstream f(filler, std::ios::binary);
          const std::string block(1 << 20, 'x');
          while (f.write(block.data(), static_cast<std::streamsize>(block.size()))) {
          }
          for (int i = 0; i < 4096 && f.write("y", 1); ++i) {
          }
        }
        std::this_thread::sleep_for(3s);
        fs::remove(filler);
        fault_log += " disk-full(" + std::to_string(free_bytes >> 20) + " MiB, 3 s)";
      }
      if (!lock_held && now >= lock_at) {
        lock_held = true;
        auto db = sb::storage::Database::open(node.db_path());
        if (db && db->exec("BEGIN IMMEDIATE")) {
          std::this_thread::sleep_for(4s);
          (void)db->exec("COMMIT");
          fault_log += " write-lock(4 s)";
        } else {
          fault_log += " write-lock(not taken)";
        }
      }
      std::this_thread::sleep_for(5ms);
    }
  });

  int64_t seq = 0;
  const auto period = std::chrono::duration<double>(1.0 / opt.rate);
  auto next_send = start;
  while (Clock::now() < end && !restart_failed) {
    const auto now = Clock::now();
    if (now >= next_send) {
      const Chat& chat = chats[static_cast<size_t>(seq) % chats.size()];
      auto d = make_delivery(++seq, chat);
      d->next_try = now;
      std::lock_guard lk(sh.mutex);
      sh.all.push_back(d);
      sh.due.push_back(d);
      next_send += std::chrono::duration_cast<Clock::duration>(period);
    }
    std::this_thread::sleep_for(2ms);
  }
  faults.join();
  if (restart_failed) {
    sh.sending = false;
    for (auto& t : senders) t.join();
    return 1;
  }
  sh.sending = false;
  for (auto& t : senders) t.join();

  // Every acked delivery must get its reply: wait for them (cold starts, retries).
  std::vector<std::shared_ptr<Delivery>> acked;
  for (const auto& d : sh.all)
    if (d->acked) acked.push_back(d);
  auto count_tokens = [&] {
    std::map<std::string, size_t> seen;
    for (const auto& r : platform.replies())
      for (const auto& t : tokens_in(r.text)) ++seen[t];
    return seen;
  };
  const auto settle_by = Clock::now() + 180s;
  while (Clock::now() < settle_by) {
    auto seen = count_tokens();
    size_t missing = 0;
    for (const auto& d : acked) missing += seen[d->token] == 0;
    if (missing == 0) break;
    std::this_thread::sleep_for(500ms);
  }
  // A late double can only come from a row still pending: wait until none is.
  const auto drained_by = Clock::now() + 60s;
  while (node.query("SELECT count(*) FROM outbox WHERE state = 'pending'") != "0" && Clock::now() < drained_by)
    std::this_thread::sleep_for(100ms);  // poll interval

  // Per token: replies seen, inbound rows, outbox rows (a double from one outbox row is a
  // boundary re-send; from two, the broker's own doing).
  auto seen = count_tokens();
  std::map<std::string, size_t> inbound, outbox;
  for (const auto& text : node.query_all("SELECT text FROM inbound_messages"))
    for (const auto& t : tokens_in(text)) ++inbound[t];
  for (const auto& text : node.query_all("SELECT text FROM outbox"))
    for (const auto& t : tokens_in(text)) ++outbox[t];
  size_t lost = 0, broker_doubles = 0, not_once_to_agent = 0;
  std::map<std::string, size_t> boundary_by_platform;
  std::string examples;
  for (const auto& d : acked) {
    const size_t n = seen[d->token];
    if (n == 0) {
      ++lost;
      if (examples.size() < 400) examples += " lost " + d->token + "(" + name(d->platform) + ")";
    }
    if (inbound[d->token] != 1) ++not_once_to_agent;
    if (n > 1) {
      if (outbox[d->token] > 1) {
        ++broker_doubles;
        if (examples.size() < 400) examples += " doubled " + d->token;
        // What a diagnosis needs: the rows the reply came from and the message's turn.
        for (const auto& row : node.query_all(
                 "SELECT id || ' key=' || coalesce(idempotency_key, '-') || ' state=' || state || ' created=' || "
                 "created_at || ' text=' || substr(text, 1, 120) FROM outbox WHERE text LIKE '%" +
                 d->token + "%'"))
          std::cout << "  doubled " << d->token << " outbox " << row << "\n";
        for (const auto& row : node.query_all(
                 "SELECT id || ' state=' || state || ' turn_last_id=' || coalesce(turn_last_id, 0) || ' ns=' || "
                 "coalesce(namespace_id, '-') FROM inbound_messages WHERE text LIKE '%" +
                 d->token + "%'"))
          std::cout << "  doubled " << d->token << " inbound " << row << "\n";
      } else {
        boundary_by_platform[name(d->platform)] += n - 1;
        if (examples.size() < 400) examples += " re-sent " + d->token + "(" + name(d->platform) + ")";
      }
    }
  }
  size_t boundary_total = 0;
  for (const auto& [p, n] : boundary_by_platform) boundary_total += n;

  // An orderly stop, then the checks on what is left behind.
  // The broker's own account of a double (its last process's log), printed on failure.
  const std::string log_at_double = broker_doubles > 0 ? node.log_tail(12000) : "";
  const auto code = node.stop();
  const bool containers_gone = [&] {
    const auto by = Clock::now() + 30s;
    while (processes_mounting(tag) > 0 && Clock::now() < by) std::this_thread::sleep_for(100ms);
    return processes_mounting(tag) == 0;
  }();
  size_t run_dirs = 0;
  std::error_code ec;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(data + "/runs", ec)) ++run_dirs;
  ChildProcess verify(node.exe(), {"audit", "verify", "--data-dir", data}, {}, dir.path() + "/verify");
  const auto verified = verify.wait(120s);

  // Limits: Slack (metadata + history lookup) and Discord channel messages (nonce) never
  // repeat; WhatsApp, Telegram and Discord interaction follow-ups take no key: at most one
  // repeat per bot per kill.
  const bool slack_ok = boundary_by_platform["slack"] == 0;
  const bool others_ok = boundary_by_platform["whatsapp"] <= static_cast<size_t>(kills) &&
                         boundary_by_platform["telegram"] <= static_cast<size_t>(kills) &&
                         boundary_by_platform["discord"] <= static_cast<size_t>(kills);

  std::cout << "chaos: " << opt.seconds << " s at " << opt.rate << " webhooks/s, " << opt.namespaces
            << " namespaces, faults:" << fault_log << "\n"
            << "  deliveries sent " << sh.all.size() << ", acked " << acked.size() << " (2xx answers " << sh.status_2xx
            << ", 5xx " << sh.status_5xx << ", no answer " << sh.no_answer << ", other " << sh.status_other << ")\n"
            << "  kills survived " << kills << ", longest outage " << longest_outage.count() << " ms\n"
            << "  replies lost " << lost << " (must be 0)\n"
            << "  replies doubled by the broker " << broker_doubles << " (must be 0)\n"
            << "  boundary re-sends " << boundary_total << " (slack " << boundary_by_platform["slack"] << ", discord "
            << boundary_by_platform["discord"] << ", whatsapp " << boundary_by_platform["whatsapp"] << ", telegram "
            << boundary_by_platform["telegram"] << "; limit: slack 0, others <= kills)\n"
            << "  recovered by lookup/nonce: slack history lookups " << platform.history_lookups()
            << ", discord nonce repeats " << platform.deduplicated_by_nonce() << "\n"
            << "  messages not stored exactly once " << not_once_to_agent << " (must be 0)\n"
            << "  audit verify " << (verified == 0 ? "ok" : "FAILED: " + verify.stdout_text() + verify.stderr_text())
            << "\n  stop exit " << (code ? std::to_string(*code) : "timeout") << ", containers left "
            << (containers_gone ? 0 : processes_mounting(tag)) << ", run directories left " << run_dirs << "\n";
  if (!examples.empty()) std::cout << "  examples:" << examples << "\n";
  for (const auto& v : platform.violations()) std::cout << "  platform contract violation: " << v << "\n";
  const bool ok = lost == 0 && broker_doubles == 0 && not_once_to_agent == 0 && slack_ok && others_ok &&
                  verified == 0 && containers_gone && run_dirs == 0 && platform.violations().empty() &&
                  code == std::optional<int>(0);
  if (!log_at_double.empty()) std::cout << "---- serve log (tail) ----\n" << log_at_double << "\n";
  std::cout << "chaos: " << (ok ? "PASS" : "FAIL") << "\n";
  return ok ? 0 : 1;
}
