// Outbound delivery throughput (issue 5: >= 5k messages/s to a loopback fake API): the
// real storage writer (synchronous = FULL), the outbox actor and one channel sender
// for a Slack bot whose API is a keep-alive loopback server answering {"ok":true}.
// Measured from the first enqueue to the last message received by the fake API, and
// until the last row is committed as 'sent'.
//
//   bench_outbound [--smoke] [--messages N] [--chats C]
//
// --smoke: 500 messages. Prints its figures; never fails on a time.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "runtime/core/log.hpp"
#include "tests/actors/channels/sender_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/fake_upstream.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace t = sb::test;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  size_t messages = 20000;
  size_t chats = 16;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0)
      messages = 500;
    else if (std::strcmp(argv[i], "--messages") == 0 && i + 1 < argc)
      messages = std::stoul(argv[++i]);
    else if (std::strcmp(argv[i], "--chats") == 0 && i + 1 < argc)
      chats = std::max<size_t>(1, std::stoul(argv[++i]));
    // Anything else (e.g. --benchmark_min_time from the smoke entry) is ignored.
  }
  sb::log::configure(sb::log::Level::warn, sb::log::Format::logfmt);

  t::FakeUpstreamOptions api_options;
  api_options.record = false;
  t::FakeUpstream api(api_options);
  api.set_handler([](const t::RecordedRequest&) {
    return t::UpstreamReply::json(200, R"({"ok":true,"channel":"C1","ts":"1700000000.000100"})");
  });
  sb::config::ChannelBotConfig c;
  c.platform = "slack";
  c.name = "bench";
  c.api_base_url = api.url();
  c.secrets = {{"signing_secret", "s"}, {"bot_token", "t"}};
  auto bot = t::outbound::make_test_bot(c, {{"s", "signing"}, {"t", "xoxb-bench"}});

  t::outbound::OutboundPipeline pipe({bot});
  pipe.start_senders();

  std::atomic<size_t> acked{0};
  std::atomic<size_t> refused{0};
  const auto start = Clock::now();
  auto outbox = pipe.outbox;
  pipe.system.spawn([&, outbox](caf::event_based_actor* self) {
    for (size_t i = 0; i < messages; ++i) {
      sb::actors::outbound_message m{"slack/bench", "slack:C" + std::to_string(i % chats),
                                     "message " + std::to_string(i), ""};
      self->request(outbox, std::chrono::seconds(120), sb::actors::enqueue_atom::value, std::move(m))
          .then([&](const sb::actors::enqueue_result& r) { ++(r.error.code.empty() ? acked : refused); },
                [&](caf::error&) { ++refused; });
    }
  });
  const bool enqueued = t::wait_until([&] { return acked + refused == messages; }, 300s);
  const double enqueue_s = seconds_since(start);
  const bool delivered = api.wait_for_requests(messages, 300s);
  const double delivered_s = seconds_since(start);
  const bool committed = t::wait_until([&] { return pipe.count_in("sent") == messages; }, 300s);
  const double committed_s = seconds_since(start);

  std::printf("outbound: %zu messages to %zu chats, one Slack bot, loopback keep-alive fake API, synchronous=FULL\n",
              messages, chats);
  std::printf("  enqueued (durable)     %8.3f s  %9.0f msg/s%s\n", enqueue_s, messages / enqueue_s,
              enqueued && refused == 0 ? "" : "  (INCOMPLETE)");
  std::printf("  delivered to the API   %8.3f s  %9.0f msg/s%s  (target >= 5000)\n", delivered_s,
              messages / delivered_s, delivered ? "" : "  (INCOMPLETE)");
  std::printf("  committed as sent      %8.3f s  %9.0f msg/s%s\n", committed_s, messages / committed_s,
              committed ? "" : "  (INCOMPLETE)");
  std::printf("  API connections used   %zu\n", api.connection_count());
  return 0;
}
