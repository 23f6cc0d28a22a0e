// Limits of the public webhook listener against hostile traffic (H2, M1 and L2 of the
// 2026-12 audit): a flood of unsigned requests costs the audit log two rows per key and
// does not delay signed deliveries; deliveries beyond the in-flight bound get 503 at
// once; one remote address cannot take every connection.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "tests/channels/webhooks/ingress_fixture.hpp"
#include "tests/support/child_process.hpp"  // wait_until
#include "tests/support/raw_socket.hpp"

namespace sb::test::ingress {
namespace {

class WebhookLimits : public IngressFixture {};

uint16_t limits_test_port(const std::string& base_url) {
  return static_cast<uint16_t>(std::stoi(base_url.substr(base_url.rfind(':') + 1)));
}

TEST_F(WebhookLimits, AFloodOfUnsignedRequestsNeitherGrowsTheAuditNorDelaysSignedDeliveries) {
  start_listener();
  std::atomic<bool> flooding{true};
  std::atomic<uint64_t> flood_sent{0}, flood_401{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < 3; ++t)
    flood.emplace_back([&] {
      const std::string body = slack_event("EvFlood");
      while (flooding.load()) {
        auto r = post("/webhooks/slack/main", {{"Content-Type", "application/json"}}, body);
        ++flood_sent;
        if (r && r->status == 401) ++flood_401;
      }
    });
  // Signed deliveries in parallel: each acked, within the platforms' deadline.
  std::chrono::milliseconds slowest{0};
  for (int i = 0; i < 30; ++i) {
    const std::string body = slack_event("EvSigned" + std::to_string(i));
    const auto t0 = std::chrono::steady_clock::now();
    auto r = post("/webhooks/slack/main", slack_headers(body), body);
    slowest =
        std::max(slowest, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200) << r->body;
  }
  flooding = false;
  for (auto& t : flood) t.join();
  EXPECT_LT(slowest, 2500ms) << "a signed delivery waited behind the flood";
  EXPECT_GT(flood_401.load(), 100u) << "the flood did not happen";
  for (int i = 0; i < 30; ++i) EXPECT_EQ(stored("EvSigned" + std::to_string(i)), 1) << i;
  // One record for the flood's key in this interval (its summary comes when it ends).
  size_t rejected = 0;
  for (const auto& r : audited->snapshot()) rejected += r.event == "channel.webhook_rejected";
  EXPECT_EQ(rejected, 1u) << flood_401.load() << " rejects";
  EXPECT_EQ(listener->counts("slack/main").rejected, flood_401.load());
}

TEST_F(WebhookLimits, RejectFloodsAreSummarisedWithTheirCountWhenTheIntervalEnds) {
  // The 25 posts must fit in one interval, also on a loaded machine: 2 s, not 200 ms.
  start_listener("", "", [](channels::webhooks::WebhookListenerOptions& o) { o.reject_audit_interval = 2000ms; });
  for (int i = 0; i < 25; ++i)
    ASSERT_EQ(post("/webhooks/slack/main", {{"Content-Type", "application/json"}}, slack_event("EvX"))->status, 401);
  ASSERT_TRUE(wait_until([&] { return audited->snapshot().size() >= 2; }, 10s));
  auto records = audited->snapshot();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].detail.find("aggregated"), std::string::npos);
  EXPECT_NE(records[1].detail.find(R"("aggregated":true,"count":24,"interval_ms":2000)"), std::string::npos)
      << records[1].detail;
  EXPECT_NE(records[1].detail.find(R"("reason":"missing_timestamp")"), std::string::npos) << records[1].detail;
}

TEST_F(WebhookLimits, DeliveriesBeyondTheInFlightBoundGet503AtOnce) {
  // An ingest that takes deliveries and never confirms them: a stalled disk.
  auto held = std::make_shared<std::vector<actors::ingest_callback>>();
  auto mute = system.spawn([held](caf::event_based_actor*) -> caf::behavior {
    return {[held](actors::ingest_atom, const std::vector<sb::messaging::StoredMessage>&,
                   const actors::ingest_callback& callback) { held->push_back(callback); }};
  });
  system.registry().erase(caf::atom("ingest"));
  system.registry().put(caf::atom("ingest"), caf::actor_cast<caf::strong_actor_ptr>(mute));
  start_listener("", "", [](channels::webhooks::WebhookListenerOptions& o) { o.max_in_flight = 2; });
  std::vector<std::thread> waiting;
  for (int i = 0; i < 2; ++i)
    waiting.emplace_back([&, i] {
      const std::string body = slack_event("EvWait" + std::to_string(i));
      (void)post("/webhooks/slack/main", slack_headers(body), body);  // 503 after ack_timeout
    });
  ASSERT_TRUE(wait_until([&] { return listener->in_flight() == 2; }, 5s));
  const std::string body = slack_event("EvOver");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = post("/webhooks/slack/main", slack_headers(body), body);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("overloaded"), std::string::npos) << r->body;
  EXPECT_EQ(r->header("Retry-After"), "1");
  EXPECT_LT(took, 1000ms) << "refused at once, not after the ack deadline";
  for (auto& t : waiting) t.join();
  system.registry().erase(caf::atom("ingest"));
  system.registry().put(caf::atom("ingest"), caf::actor_cast<caf::strong_actor_ptr>(ingest));
  caf::anon_send_exit(mute, caf::exit_reason::user_shutdown);
  EXPECT_NE(metrics.render().find("squadbox_webhook_overloaded_total 1"), std::string::npos);
}

TEST_F(WebhookLimits, OneRemoteAddressCannotTakeEveryConnection) {
  start_listener("", "", [](channels::webhooks::WebhookListenerOptions& o) {
    o.server.max_connections_per_remote = 4;
    o.server.idle_timeout = 30s;
    o.server.request_timeout = 30s;
  });
  const uint16_t port = limits_test_port(base_url);
  std::vector<std::unique_ptr<RawSocket>> idle;
  auto open_connections = [&](int n) {
    return wait_until(
        [&] {
          return metrics.render().find(R"(squadbox_http_connections{listener="webhooks"} )" + std::to_string(n)) !=
                 std::string::npos;
        },
        5s);
  };
  for (int i = 0; i < 4; ++i) idle.push_back(std::make_unique<RawSocket>(port));
  ASSERT_TRUE(open_connections(4)) << metrics.render();  // all four accepted
  RawSocket fifth(port);
  bool closed = false;
  const std::string answer = fifth.read_all(3s, &closed);
  EXPECT_NE(answer.find("503"), std::string::npos) << answer;
  EXPECT_TRUE(closed);
  idle.pop_back();  // one goes: a slot is free again
  ASSERT_TRUE(open_connections(3)) << metrics.render();
  const std::string body = slack_event("EvAfterCap");
  auto r = post("/webhooks/slack/main", slack_headers(body), body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(metrics.render().find(
                R"(squadbox_http_connections_refused_total{listener="webhooks",limit="max_connections_per_remote"} 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace sb::test::ingress
