// The agent's keep-alive HTTP client over a unix socket: a turn's model calls share one
// connection (so the credential proxy keeps its upstream connection and its TLS session),
// and a connection the peer closed or spoiled is replaced without losing the request.
#include "runtime/agent/unix_http.hpp"

#include <atomic>

#include <gtest/gtest.h>

#include "runtime/agent/http_message.hpp"
#include "tests/runtime/agent/unix_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sb::agent::UnixHttpClient;

std::string request(const std::string& body) {
  auto r = sb::agent::build_http_request("POST", "/v1/x", {{"host", "proxy"}}, body);
  return r ? *r : std::string();
}

std::string response(const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 200 OK\r\ncontent-length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

// Answers every request on a connection with its body echoed, until the client leaves.
sb::test::UnixServer::Handler echo_all(std::atomic<int>& served, const std::string& extra = "") {
  return [&served, extra](int fd) {
    while (auto r = sb::test::read_http_request(fd)) {
      ++served;
      if (!sb::test::write_all(fd, response(r->body, extra))) return;
    }
  };
}

TEST(UnixHttpClient, KeepsOneConnectionAcrossExchanges) {
  sb::test::TempDir dir("sb-unix-http");
  std::atomic<int> served{0};
  sb::test::UnixServer server(dir.file("s.sock"), echo_all(served));
  UnixHttpClient client(dir.file("s.sock"));
  for (int i = 0; i < 5; ++i) {
    auto r = client.exchange(request("n" + std::to_string(i)), 5s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "n" + std::to_string(i));
    EXPECT_TRUE(client.connected());
  }
  EXPECT_EQ(client.connects(), 1u);
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(served.load(), 5);
}

TEST(UnixHttpClient, APeerThatClosesAfterEachAnswerCostsANewConnectionNotARequest) {
  sb::test::TempDir dir("sb-unix-http");
  std::atomic<int> served{0};
  // One answer per connection, then the handler returns and the server closes it: the
  // client either sees the close while idle or finds it when it sends, and sends again.
  sb::test::UnixServer server(dir.file("s.sock"), [&](int fd) {
    if (auto r = sb::test::read_http_request(fd)) {
      ++served;
      sb::test::write_all(fd, response(r->body));
    }
  });
  UnixHttpClient client(dir.file("s.sock"));
  for (int i = 0; i < 20; ++i) {
    auto r = client.exchange(request("n" + std::to_string(i)), 5s);
    ASSERT_TRUE(r) << i << ": " << r.error().message;
    EXPECT_EQ(r->body, "n" + std::to_string(i));
  }
  EXPECT_EQ(served.load(), 20);  // every request answered once
  EXPECT_EQ(server.accepted(), 20);
}

TEST(UnixHttpClient, ConnectionCloseInTheAnswerEndsTheConnection) {
  sb::test::TempDir dir("sb-unix-http");
  std::atomic<int> served{0};
  sb::test::UnixServer server(dir.file("s.sock"), echo_all(served, "Connection: keep-alive, Close\r\n"));
  UnixHttpClient client(dir.file("s.sock"));
  ASSERT_TRUE(client.exchange(request("a"), 5s));
  EXPECT_FALSE(client.connected());
  ASSERT_TRUE(client.exchange(request("b"), 5s));
  EXPECT_EQ(client.connects(), 2u);
}

// A server that answers, then (at once or a little later) sends an answer nobody asked
// for, on its first connection only.
void expect_stray_answer_is_not_taken_for_the_next(std::chrono::milliseconds stray_after) {
  sb::test::TempDir dir("sb-unix-http");
  std::atomic<int> conns{0};
  sb::test::UnixServer server(dir.file("s.sock"), [&](int fd) {
    const int n = ++conns;
    while (auto r = sb::test::read_http_request(fd)) {
      std::string out = response("conn" + std::to_string(n));
      if (n == 1 && stray_after.count() > 0) {
        if (!sb::test::write_all(fd, out)) return;
        std::this_thread::sleep_for(stray_after);
        out.clear();
      }
      if (n == 1) out += response("stray");
      if (!sb::test::write_all(fd, out)) return;
    }
  });
  UnixHttpClient client(dir.file("s.sock"));
  auto a = client.exchange(request("a"), 5s);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body, "conn1");
  std::this_thread::sleep_for(stray_after + 50ms);  // the stray answer has arrived
  auto b = client.exchange(request("b"), 5s);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->body, "conn2");
  EXPECT_EQ(client.connects(), 2u);
}

TEST(UnixHttpClient, AStrayAnswerInTheSameReadSpoilsTheConnection) {
  expect_stray_answer_is_not_taken_for_the_next(0ms);
}

TEST(UnixHttpClient, AStrayAnswerWhileIdleSpoilsTheConnection) {
  expect_stray_answer_is_not_taken_for_the_next(30ms);
}

TEST(UnixHttpClient, NoListenerIsAConnectError) {
  sb::test::TempDir dir("sb-unix-http");
  UnixHttpClient client(dir.file("none.sock"));
  auto r = client.exchange(request("a"), 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "http.connect");
  EXPECT_FALSE(client.connected());
}

TEST(UnixHttpClient, ASilentPeerTimesOutAndTheConnectionIsDropped) {
  sb::test::TempDir dir("sb-unix-http");
  sb::test::UnixServer server(dir.file("s.sock"), [&](int fd) {
    (void)sb::test::read_http_request(fd);
    char c;
    (void)!::recv(fd, &c, 1, 0);  // until the client or the server's stop closes it
  });
  UnixHttpClient client(dir.file("s.sock"));
  auto r = client.exchange(request("a"), 200ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "http.timeout");
  EXPECT_FALSE(client.connected());  // a late answer must not be read as the next one
}

}  // namespace
