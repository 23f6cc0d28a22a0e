// Namespace turn queue and slot pool throughput, in process (issue 6, "Benchmarks":
// router + namespace enqueue >= 500k messages/s; this measures the namespace part).
//  1. enqueue: N routed messages pushed (moved) into one namespace's TurnQueue while its
//     agent is busy, spread over C chats (the burst case);
//  2. enqueue + next_turn: the same messages, with a turn taken (and its agent input
//     formatted) whenever the agent is idle, max_batch B; turn_done right away;
//  3. slot pool: request + mark_idle + release cycles over 64 namespaces with limit 5.
// Messages are built before the clock starts (the router hands over finished values).
// Prints its figures and PASS/MISS against the target; never fails on a time.
//
//   bench_namespace_queue [--smoke] [--messages N] [--chats C] [--batch B] [--runs R]
//                         [--benchmark_* flags are accepted and ignored]
// --smoke: 20k messages, one run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/namespaces/slot_pool.hpp"
#include "runtime/namespaces/turn_queue.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace nsq = sb::namespaces;

constexpr double kTargetRate = 500000;

struct Options {
  std::size_t messages = 500000;
  std::size_t chats = 16;
  std::size_t batch = 50;
  int runs = 5;
  bool smoke = false;
};

std::vector<nsq::PendingMessage> make_messages(const Options& o) {
  std::vector<nsq::PendingMessage> out;
  out.reserve(o.messages);
  for (std::size_t i = 0; i < o.messages; ++i) {
    nsq::PendingMessage m;
    m.id = static_cast<int64_t>(i + 1);
    m.chat_jid = "slack:C" + std::to_string(i % o.chats);
    m.sender_id = "U" + std::to_string(i % 7);
    m.sender_name = "user " + std::to_string(i % 7);
    m.text = "hello from message " + std::to_string(i) + ", a typical short chat line";
    m.timestamp_ms = 1700000000000 + static_cast<int64_t>(i);
    out.push_back(std::move(m));
  }
  return out;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// 1: pushes only; the first message's turn is running, so everything else is batched.
double run_enqueue(std::vector<nsq::PendingMessage> messages, bool& ok) {
  nsq::TurnQueue q;
  const auto n = messages.size();
  auto start = Clock::now();
  if (!q.push(std::move(messages[0])).ok() || !q.next_turn(1).ok()) ok = false;
  for (std::size_t i = 1; i < n; ++i) {
    if (!q.push(std::move(messages[i])).ok()) ok = false;
  }
  const double s = seconds_since(start);
  if (q.pending() != n - 1 || !q.busy()) ok = false;
  return static_cast<double>(n) / s;
}

// 2: pushes with turns taken whenever the agent is idle.
double run_enqueue_and_turns(std::vector<nsq::PendingMessage> messages, std::size_t batch, bool& ok,
                             std::size_t& turns) {
  nsq::TurnQueue q;
  const auto n = messages.size();
  std::size_t delivered = 0;
  std::size_t input_bytes = 0;
  turns = 0;
  auto take_turn = [&] {
    auto t = q.next_turn(batch);
    if (!t.ok()) return false;
    delivered += t->messages.size();
    input_bytes += t->input.size();
    ++turns;
    return q.turn_done().ok();
  };
  auto start = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    if (!q.push(std::move(messages[i])).ok()) ok = false;
    // The agent finishes a turn every `batch` arrivals, so turns batch what came meanwhile.
    if (i % batch == batch - 1) take_turn();
  }
  while (q.pending() > 0 && take_turn()) {
  }
  const double s = seconds_since(start);
  if (delivered != n || input_bytes == 0 || q.restart_cursor() != static_cast<int64_t>(n)) ok = false;
  return static_cast<double>(n) / s;
}

// 3: one cycle = request, mark_idle, release for a namespace (64 namespaces, limit 5).
double run_pool(std::size_t cycles, bool& ok) {
  nsq::SlotPool pool;
  std::vector<std::string> names;
  for (int i = 0; i < 64; ++i) names.push_back("ns" + std::to_string(i));
  std::size_t granted = 0;
  auto start = Clock::now();
  for (std::size_t i = 0; i < cycles; ++i) {
    const std::string& a = names[i % names.size()];
    granted += pool.request(a).start.size();
    if (i >= 5) {
      const std::string& old = names[(i - 5) % names.size()];
      pool.mark_idle(old);
      granted += pool.release(old).start.size();
    }
  }
  const double s = seconds_since(start);
  if (granted != cycles || pool.running() != 5) ok = false;
  return static_cast<double>(cycles) / s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    auto next = [&]() -> std::size_t { return i + 1 < argc ? std::stoul(argv[++i]) : 0; };
    if (std::strcmp(argv[i], "--smoke") == 0) {
      o.smoke = true;
      o.messages = 20000;
      o.runs = 1;
    } else if (std::strcmp(argv[i], "--messages") == 0) {
      o.messages = std::max<std::size_t>(1, next());
    } else if (std::strcmp(argv[i], "--chats") == 0) {
      o.chats = std::max<std::size_t>(1, next());
    } else if (std::strcmp(argv[i], "--batch") == 0) {
      o.batch = std::max<std::size_t>(1, next());
    } else if (std::strcmp(argv[i], "--runs") == 0) {
      o.runs = static_cast<int>(std::max<std::size_t>(1, next()));
    }
    // Anything else (e.g. --benchmark_min_time from the smoke entry) is ignored.
  }

  const auto messages = make_messages(o);
  bool ok = true;
  std::vector<double> enqueue, turns_rate, pool_rate;
  std::size_t turns = 0;
  for (int r = 0; r < o.runs; ++r) {
    enqueue.push_back(run_enqueue(messages, ok));
    turns_rate.push_back(run_enqueue_and_turns(messages, o.batch, ok, turns));
    pool_rate.push_back(run_pool(o.messages, ok));
  }
  const double enq = median(enqueue);
  std::printf("namespace queue: %zu messages over %zu chats, max_batch %zu, median of %d run(s)%s\n", o.messages,
              o.chats, o.batch, o.runs, o.smoke ? " (smoke: figures mean little)" : "");
  std::printf("  enqueue (agent busy):        %12.0f messages/s   target >= %.0f: %s\n", enq, kTargetRate,
              enq >= kTargetRate ? "PASS" : "MISS");
  std::printf("  enqueue + next_turn + done:  %12.0f messages/s   (%zu turns, input formatted)\n", median(turns_rate),
              turns);
  std::printf("  slot pool request/idle/release: %9.0f cycles/s\n", median(pool_rate));
  if (!ok) {
    std::fprintf(stderr, "bench_namespace_queue: wrong results (messages lost, refused or slots miscounted)\n");
    return 1;
  }
  return 0;
}
