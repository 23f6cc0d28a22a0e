// The end-to-end suite (end_to_end_cases.hpp) with storage.backend = "postgres" against a
// throwaway PostgreSQL server (tests/support/pg_server.hpp), then what only a database
// server can do to a running node: crash under it. A message acknowledged before the crash
// is answered once after the server returns; one delivered while it is down gets a 503
// (nothing acknowledged), and the platform's retry is answered once.
#include <string>

#include "tests/e2e/e2e_node.hpp"
#include "tests/support/pg_server.hpp"

namespace sb::test::e2e {
namespace {

sb::test::PgServer* const g_e2e_pg = sb::test::shared_pg_server();

std::string prepare_storage(NodeSettings& s) {
  if (!g_e2e_pg->ready()) return "PostgreSQL did not start: " + g_e2e_pg->error() + g_e2e_pg->skip_reason();
  s.postgres_conninfo = g_e2e_pg->conninfo();
  s.postgres_schema = sb::test::unique_name("e2e");
  return "";
}

}  // namespace
}  // namespace sb::test::e2e

#include "tests/e2e/end_to_end_cases.hpp"

namespace sb::test::e2e {
namespace {

// After the suite's crash test, on the restarted node.
TEST_F(EndToEnd, DatabaseCrashUnderTheNodeLosesNoAcknowledgedMessageAndRepeatsNoReply) {
  constexpr const char* kDm = "D0DBLOSS";  // a namespace of its own: its container starts cold
  const std::string chat = std::string("slack:") + kDm;
  ASSERT_EQ(node_->add_namespace("dbloss", {chat}), "");
  const std::string acked = unique("acked-before-the-crash");
  ASSERT_EQ(post(slack_message("main", kDm, "U0HUMAN01", acked, true)), "");
  // The server crashes while the turn runs (the container is still starting).
  ASSERT_EQ(g_e2e_pg->stop(/*crash=*/true), 0);
  const std::string refused = unique("delivered-while-down");
  const Webhook while_down = slack_message("main", kDm, "U0HUMAN01", refused, true);
  auto r = node_->post(while_down);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 503) << r->body;
  std::this_thread::sleep_for(2s);  // the outage's length (a fault parameter, not a wait)
  ASSERT_EQ(g_e2e_pg->start(), 0);

  // The platform retries what it got no 2xx for.
  EXPECT_TRUE(wait_until(
      [&] {
        auto again = node_->post(while_down);
        return again.ok() && again->status == 200;
      },
      30s))
      << node_->log_tail();
  EXPECT_TRUE(wait_reply_with(chat, acked, 90s)) << "acknowledged before the crash, never answered\n"
                                                 << node_->log_tail();
  EXPECT_TRUE(wait_reply_with(chat, refused, 90s)) << "the retry after the crash was never answered\n"
                                                   << node_->log_tail();
  EXPECT_TRUE(wait_state(acked, "done/")) << row_state(acked);
  EXPECT_TRUE(wait_state(refused, "done/")) << row_state(refused);
  EXPECT_TRUE(wait_until(
      [&] { return node_->query("SELECT count(*) FROM outbox WHERE chat_jid = ? AND state <> 'sent'", chat) == "0"; },
      30s));
  EXPECT_EQ(replies_with(chat, acked), 1u) << "answered more than once";
  EXPECT_EQ(replies_with(chat, refused), 1u) << "answered more than once";
  EXPECT_EQ(node_->query("SELECT count(*) FROM inbound_messages WHERE text = ?", refused), "1");
  // The container run that started while the server was away has its row after all (the
  // supervisor sends it again before its next write), so runtime status knows the run.
  EXPECT_TRUE(wait_until(
      [&] { return node_->query("SELECT count(*) FROM container_runs WHERE namespace_id = 'dbloss'") != "0"; }, 30s))
      << node_->log_tail();
}

}  // namespace
}  // namespace sb::test::e2e
