// The keep-alive client against a loopback server that counts its connections: reuse,
// recovery when the server drops an idle connection, timeouts, and TLS with a test CA
// (trusted, untrusted, wrong host name).
#include "runtime/http/keepalive_client.hpp"

#include <gtest/gtest.h>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sb::http::KeepAliveClient;
using sb::http::KeepAliveOptions;
using sb::test::FakeUpstream;
using sb::test::RecordedRequest;
using sb::test::UpstreamReply;

TEST(KeepAliveClient, ReusesOneConnectionForManyRequests) {
  FakeUpstream up;
  up.set_handler([](const RecordedRequest& r) { return UpstreamReply::json(200, "{\"echo\":\"" + r.body + "\"}"); });
  KeepAliveClient client;
  constexpr int kRequests = 50;
  for (int i = 0; i < kRequests; ++i) {
    auto r = client.request("POST", up.url() + "/api/x", {{"Content-Type", "application/json"}}, std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "{\"echo\":\"" + std::to_string(i) + "\"}");
  }
  EXPECT_EQ(up.connection_count(), 1u);
  EXPECT_EQ(client.connections_opened(), 1u);
  const auto seen = up.requests();
  ASSERT_EQ(seen.size(), static_cast<size_t>(kRequests));
  EXPECT_EQ(seen.back().target, "/api/x");
  EXPECT_EQ(seen.back().header("Connection").value_or(""), "");  // not "close"
}

TEST(KeepAliveClient, SurvivesTheServerClosingTheConnection) {
  FakeUpstream up;
  int n = 0;
  up.set_handler([&n](const RecordedRequest&) {
    auto reply = UpstreamReply::json(200, "{}");
    ++n;
    if (n == 2) reply.drop_after = true;   // keep-alive promised, then closed silently
    if (n == 4) reply.close_after = true;  // Connection: close
    return reply;
  });
  KeepAliveClient client;
  for (int i = 0; i < 6; ++i) {
    auto r = client.request("GET", up.url() + "/", {}, "");
    ASSERT_TRUE(r.ok()) << i << ": " << r.error().message;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(up.request_count(), 6u);  // the silently dropped connection is not a lost request
  EXPECT_EQ(up.connection_count(), 3u);
}

TEST(KeepAliveClient, DoesNotResendWhenTheAnswerWasCutOff) {
  FakeUpstream up;
  int n = 0;
  up.set_handler([&n](const RecordedRequest&) {
    UpstreamReply reply = UpstreamReply::json(200, "{}");
    if (++n == 2) {
      reply = UpstreamReply{};
      reply.raw = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
      reply.close_after = true;
    }
    return reply;
  });
  KeepAliveClient client;
  ASSERT_TRUE(client.request("POST", up.url() + "/", {}, "a").ok());
  auto cut = client.request("POST", up.url() + "/", {}, "b");
  EXPECT_FALSE(cut.ok());
  EXPECT_EQ(up.request_count(), 2u);  // the answer had started: not sent again
  auto after = client.request("POST", up.url() + "/", {}, "c");
  ASSERT_TRUE(after.ok()) << after.error().message;
}

TEST(KeepAliveClient, TimesOutASlowServerAndRecovers) {
  FakeUpstream up;
  int n = 0;
  up.set_handler([&n](const RecordedRequest&) {
    auto reply = UpstreamReply::json(200, "{}");
    if (++n == 1) reply.delay = 3s;
    return reply;
  });
  KeepAliveOptions o;
  o.timeout = 300ms;
  KeepAliveClient client(o);
  auto slow = client.request("GET", up.url() + "/", {}, "");
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, "http.timeout");
  auto next = client.request("GET", up.url() + "/", {}, "");
  ASSERT_TRUE(next.ok()) << next.error().message;
}

TEST(KeepAliveClient, RefusesBadInput) {
  KeepAliveClient client;
  EXPECT_EQ(client.request("GET", "ftp://x/", {}, "").error().code, "http.unsupported_scheme");
  EXPECT_EQ(client.request("GET", "http://", {}, "").error().code, "http.bad_url");
  EXPECT_EQ(client.request("GET", "http://127.0.0.1:1/", {{"X-A", "a\r\nb"}}, "").error().code, "http.bad_request");
  EXPECT_EQ(client.request("GET", "http://127.0.0.1:1/", {}, "").error().code, "http.connect");
}

TEST(KeepAliveClient, TlsWithATestCaVerifiesTheServerAndReuses) {
  sb::test::TempDir dir;
  const auto pki = sb::test::TestPki::generate(dir.path());
  FakeUpstream up({.tls = true, .cert_file = pki.cert_file, .key_file = pki.key_file});
  KeepAliveOptions o;
  o.ca_file = pki.ca_file;
  KeepAliveClient client(o);
  for (int i = 0; i < 5; ++i) {
    auto r = client.request("POST", up.url() + "/api/chat.postMessage", {}, "{}");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(up.connection_count(), 1u);
  EXPECT_EQ(up.requests().front().tls_server_name, "localhost");  // SNI

  // The system CAs do not know the test CA.
  KeepAliveClient system_trust;
  EXPECT_EQ(system_trust.request("GET", up.url() + "/", {}, "").error().code, "http.tls");

  // A certificate from the CA for another name, and a self-signed one.
  FakeUpstream wrong({.tls = true, .cert_file = pki.wrong_host_cert, .key_file = pki.wrong_host_key});
  EXPECT_EQ(client.request("GET", wrong.url() + "/", {}, "").error().code, "http.tls");
  FakeUpstream untrusted({.tls = true, .cert_file = pki.untrusted_cert, .key_file = pki.untrusted_key});
  EXPECT_EQ(client.request("GET", untrusted.url() + "/", {}, "").error().code, "http.tls");
  KeepAliveOptions missing;
  missing.ca_file = dir.file("nope.pem");
  EXPECT_EQ(KeepAliveClient(missing).request("GET", up.url() + "/", {}, "").error().code, "http.tls");
}

}  // namespace
