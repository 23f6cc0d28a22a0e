// The server on a real loopback socket (ephemeral port), driven by the client and by raw
// POSIX sockets for the misbehaving-peer cases. No fixed sleeps: every wait has a deadline.
#include "runtime/http/server.hpp"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/core/metrics.hpp"
#include "runtime/http/client.hpp"
#include "runtime/http/router.hpp"
#include "tests/runtime/http/raw_conn.hpp"

namespace sb::http {
namespace {

using namespace std::chrono_literals;
using test::Clock;
using test::eventually;
using test::RawConn;

const std::string kHello = R"({"hello":"world"})";

// Holds Replies that a handler parks, as an actor would, to be answered later.
class Parking {
 public:
  Handler handler() {
    return [this](const Request&, Reply reply) {
      std::lock_guard lk(mutex_);
      replies_.push_back(std::move(reply));
      cv_.notify_all();
    };
  }
  bool wait_for(size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lk(mutex_);
    return cv_.wait_for(lk, timeout, [&] { return replies_.size() >= n; });
  }
  Reply take(size_t i) {
    std::lock_guard lk(mutex_);
    return replies_.at(i);
  }
  void clear() {
    std::lock_guard lk(mutex_);
    replies_.clear();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Reply> replies_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/hello", [](const Request&, Reply reply) { reply(Response::json(200, kHello)); });
    router_.add("POST", "/echo",
                [](const Request& r, Reply reply) { reply(Response::text(200, r.body, "application/octet-stream")); });
    router_.add("GET", "/info", [](const Request& r, Reply reply) {
      reply(Response::text(200, r.method + "|" + r.path + "|" + r.query + "|" + r.query_param("q").value_or("-") + "|" +
                                    r.remote_address + "|" + r.header("x-test").value_or("-")));
    });
    router_.add("GET", "/park", parking_.handler());
  }

  void TearDown() override {
    if (server_) server_->stop();
    parking_.clear();  // dropped after stop: must be harmless
  }

  void start(ServerOptions options = {}) {
    options.name = "test";
    server_ = std::make_unique<Server>(options, router_.handler(), &registry_);
    auto port = server_->start();
    ASSERT_TRUE(port.ok()) << port.error().code << ": " << port.error().message;
    port_ = *port;
    ASSERT_EQ(server_->port(), port_);
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  Result<Response> call(std::string_view method, std::string_view path, std::string body = {}, Headers headers = {}) {
    return request(method, url(path), std::move(headers), std::move(body), 5s);
  }
  uint64_t count(int status) {
    return registry_
        .counter("squadbox_http_requests_total", "", {{"listener", "test"}, {"status", std::to_string(status)}})
        .value();
  }

  static std::string get(std::string_view path) { return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n\r\n"; }

  sb::metrics::Registry registry_;
  Parking parking_;
  Router router_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

TEST_F(HttpServerTest, Returns200ViaClient) {
  start();
  auto res = call("GET", "/hello");
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, kHello);
  EXPECT_EQ(res->content_type, "application/json");
  EXPECT_EQ(res->header("Server"), "squadbox");
  EXPECT_EQ(res->header("Content-Length"), std::to_string(kHello.size()));
}

TEST_F(HttpServerTest, PassesRequestFieldsToHandler) {
  start();
  auto res = call("GET", "/info?q=a%20b&z=1", {}, {{"X-Test", "yes"}});
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->body, "GET|/info|q=a%20b&z=1|a b|127.0.0.1|yes");
}

TEST_F(HttpServerTest, EchoesBodies) {
  start();
  const std::string body(100000, 'x');
  auto res = call("POST", "/echo", body);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->body, body);
  EXPECT_EQ(res->content_type, "application/octet-stream");
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  RawConn c(port_);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.send(get("/hello")));
    auto r = c.read_response();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, kHello);
    EXPECT_NE(r->header("connection"), "close");
  }
  // Pipelined: both requests in one segment, answered in order.
  ASSERT_TRUE(c.send(get("/hello") + get("/info")));
  auto a = c.read_response();
  auto b = c.read_response();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->body, kHello);
  EXPECT_EQ(b->body.substr(0, 10), "GET|/info|");
}

TEST_F(HttpServerTest, Http10ClosesAfterResponse) {
  start();
  RawConn c(port_);
  ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405) {
  start();
  auto nf = call("GET", "/nope");
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nf->body, R"({"error":{"code":"not_found","message":"no route for /nope"}})");

  auto na = call("DELETE", "/hello");
  ASSERT_TRUE(na.ok());
  EXPECT_EQ(na->status, 405);
  EXPECT_NE(na->body.find(R"("code":"method_not_allowed")"), std::string::npos);
  EXPECT_EQ(na->header("Allow"), "GET, HEAD");
  EXPECT_EQ(na->content_type, "application/json");
}

TEST_F(HttpServerTest, HeadSendsHeadersOnly) {
  start();
  RawConn c(port_);
  ASSERT_TRUE(c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto h = c.read_response(5s, /*head_only=*/true);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->header("content-length"), std::to_string(kHello.size()));
  // No body bytes may follow, or this next response would be misparsed.
  ASSERT_TRUE(c.send(get("/hello")));
  auto g = c.read_response();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->body, kHello);
}

TEST_F(HttpServerTest, ExpectContinue) {
  start();
  RawConn c(port_);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto cont = c.read_response(5s, true);
  ASSERT_TRUE(cont);
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(c.send("hello"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
}

TEST_F(HttpServerTest, GarbageIs400AndCloses) {
  start();
  RawConn c(port_);
  ASSERT_TRUE(c.send(std::string("\x16\x03\x01\x02\x00 garbage\r\n\r\n", 18)));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_EQ(r->header("server"), "squadbox");
  EXPECT_EQ(r->body.rfind(R"({"error":{"code":"bad_request","message":")", 0), 0u) << r->body;
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServerTest, ConflictingLengthsAre400) {
  start();
  RawConn c(port_);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServerTest, ContentLengthAboveLimitIs413) {
  ServerOptions o;
  o.body_limit = 1024;
  start(o);
  RawConn c(port_);
  // The whole body is sent too: the server must still deliver its 413 before closing.
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\n\r\n" + std::string(4096, 'a')));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find(R"("code":"payload_too_large")"), std::string::npos);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServerTest, ChunkedBodyAboveLimitIs413) {
  ServerOptions o;
  o.body_limit = 1024;
  start(o);
  const std::string chunk = "300\r\n" + std::string(0x300, 'b') + "\r\n";
  {  // within the limit: accepted
    RawConn c(port_);
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + "0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, std::string(0x300, 'b'));
  }
  RawConn c(port_);
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + "0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find(R"("code":"payload_too_large")"), std::string::npos);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServerTest, OversizedHeadersAre431) {
  start();
  RawConn c(port_);
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServerTest, StalledHeadersAre408) {
  ServerOptions o;
  o.request_timeout = 300ms;
  start(o);
  RawConn c(port_);
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: t\r\n"));  // half the headers, then nothing
  auto r = c.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_NE(r->body.find(R"("code":"request_timeout")"), std::string::npos);
  EXPECT_GE(Clock::now() - t0, 250ms);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServerTest, TricklingBodyIs408) {
  ServerOptions o;
  o.request_timeout = 300ms;
  start(o);
  RawConn c(port_);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"));
  // One byte every 20 ms keeps the socket busy but the request never completes in time.
  std::atomic<bool> stop{false};
  std::thread trickler([&] {
    while (!stop && c.send("x")) std::this_thread::sleep_for(20ms);
  });
  const auto t0 = Clock::now();
  auto r = c.read_response(5s);
  stop = true;
  trickler.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_LT(Clock::now() - t0, 3s);
}

TEST_F(HttpServerTest, SilentConnectionIsClosedWithoutResponse) {
  ServerOptions o;
  o.request_timeout = 200ms;
  start(o);
  RawConn c(port_);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(c.pending().empty()) << c.pending();
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions o;
  o.idle_timeout = 200ms;
  start(o);
  RawConn c(port_);
  ASSERT_TRUE(c.send(get("/hello")));
  ASSERT_TRUE(c.read_response());
  const auto t0 = Clock::now();
  EXPECT_TRUE(c.wait_closed());
  EXPECT_GE(Clock::now() - t0, 150ms);
  EXPECT_TRUE(c.pending().empty());
}

TEST_F(HttpServerTest, ReplyFromAnotherThreadLater) {
  start();
  auto pending = std::async(std::launch::async, [&] { return call("GET", "/park"); });
  ASSERT_TRUE(parking_.wait_for(1));
  std::thread actor([reply = parking_.take(0)] { reply(Response::json(202, R"({"later":true})")); });
  actor.join();
  auto res = pending.get();
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(res->body, R"({"later":true})");
}

TEST_F(HttpServerTest, ManyConcurrentDeferredReplies) {
  ServerOptions o;
  o.threads = 2;
  start(o);
  constexpr int n = 20;
  std::vector<std::future<Result<Response>>> calls;
  for (int i = 0; i < n; ++i) calls.push_back(std::async(std::launch::async, [&] { return call("GET", "/park"); }));
  ASSERT_TRUE(parking_.wait_for(n));
  std::vector<std::thread> actors;
  for (int i = 0; i < n; ++i) {
    actors.emplace_back(
        [reply = parking_.take(static_cast<size_t>(i)), i] { reply(Response::json(200, std::to_string(i))); });
  }
  for (auto& t : actors) t.join();
  for (auto& f : calls) {
    auto res = f.get();
    ASSERT_TRUE(res.ok()) << res.error().message;
    EXPECT_EQ(res->status, 200);
  }
}

TEST_F(HttpServerTest, SecondReplyIsIgnored) {
  router_.add("GET", "/twice", [](const Request&, Reply reply) {
    reply(Response::json(200, "1"));
    reply(Response::json(500, "2"));
  });
  start();
  auto res = call("GET", "/twice");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->body, "1");
  auto again = call("GET", "/hello");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpServerTest, ThrowingHandlerIs500) {
  router_.add("GET", "/boom", [](const Request&, Reply) { throw std::runtime_error("kaboom secret"); });
  router_.add("GET", "/boom2", [](const Request&, Reply) { throw 42; });
  start();
  for (const char* path : {"/boom", "/boom2"}) {
    auto res = call("GET", path);
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->status, 500);
    EXPECT_EQ(res->body, R"({"error":{"code":"internal","message":"internal server error"}})");
  }
  auto still = call("GET", "/hello");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->status, 200);
}

TEST_F(HttpServerTest, ThrowAfterReplyKeepsTheReply) {
  router_.add("GET", "/late-throw", [](const Request&, Reply reply) {
    reply(Response::json(200, "ok"));
    throw std::runtime_error("after reply");
  });
  start();
  auto res = call("GET", "/late-throw");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok");
}

TEST_F(HttpServerTest, DroppedReplyIs500) {
  router_.add("GET", "/drop", [](const Request&, Reply) {});
  start();
  auto res = call("GET", "/drop");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 500);
  EXPECT_NE(res->body.find(R"("code":"internal")"), std::string::npos);
}

TEST_F(HttpServerTest, InvalidStatusFromHandlerIs500) {
  router_.add("GET", "/weird", [](const Request&, Reply reply) { reply(Response::json(42, "{}")); });
  start();
  auto res = call("GET", "/weird");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 500);
}

TEST_F(HttpServerTest, ResponseHeadersCannotBreakFraming) {
  router_.add("GET", "/headers", [](const Request&, Reply reply) {
    Response r = Response::text(200, "body");
    r.headers = {{"X-Ok", "1"},
                 {"X-Bad", "a\r\nInjected: yes"},
                 {"Bad Name", "v"},
                 {"Content-Length", "999"},
                 {"Connection", "close"}};
    reply(std::move(r));
  });
  start();
  RawConn c(port_);
  ASSERT_TRUE(c.send(get("/headers")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("x-ok"), "1");
  EXPECT_EQ(r->header("injected"), "");
  EXPECT_EQ(r->header("x-bad"), "");
  EXPECT_EQ(r->header("content-length"), "4");
  EXPECT_EQ(r->body, "body");
  // Still keep-alive: the handler does not own Connection.
  ASSERT_TRUE(c.send(get("/hello")));
  ASSERT_TRUE(c.read_response());
}

TEST_F(HttpServerTest, NoContentHasNoBody) {
  router_.add("DELETE", "/thing", [](const Request&, Reply reply) { reply(Response::json(204, "ignored")); });
  start();
  RawConn c(port_);
  ASSERT_TRUE(c.send("DELETE /thing HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("content-length"), "");
  ASSERT_TRUE(c.send(get("/hello")));
  auto g = c.read_response();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->body, kHello);
}

TEST_F(HttpServerTest, ReplyAfterClientDisconnectedIsHarmless) {
  start();
  {
    RawConn c(port_);
    ASSERT_TRUE(c.send(get("/park")));
    ASSERT_TRUE(parking_.wait_for(1));
  }  // client gone before the answer
  parking_.take(0)(Response::json(200, "{}"));
  auto res = call("GET", "/hello");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, ReplyAfterStopIsHarmless) {
  start();
  RawConn c(port_);
  ASSERT_TRUE(c.send(get("/park")));
  ASSERT_TRUE(parking_.wait_for(1));
  Reply reply = parking_.take(0);
  server_->stop();
  EXPECT_TRUE(c.wait_closed());
  reply(Response::json(200, "{}"));
  server_.reset();  // even after the server is gone
  reply(Response::json(200, "{}"));
}

TEST_F(HttpServerTest, StopWithOpenConnectionsReturnsPromptly) {
  start();  // default 10 s request / 60 s idle timeouts
  RawConn silent(port_);
  RawConn kept(port_);
  ASSERT_TRUE(kept.send(get("/hello")));
  ASSERT_TRUE(kept.read_response());
  RawConn waiting(port_);
  ASSERT_TRUE(waiting.send(get("/park")));
  RawConn partial(port_);
  ASSERT_TRUE(partial.send("GET /hello HTTP/1.1\r\n"));
  ASSERT_TRUE(parking_.wait_for(1));

  const auto t0 = Clock::now();
  server_->stop();
  EXPECT_LT(Clock::now() - t0, 2s);
  EXPECT_TRUE(silent.wait_closed(2s));
  EXPECT_TRUE(kept.wait_closed(2s));
  EXPECT_TRUE(waiting.wait_closed(2s));
  EXPECT_TRUE(partial.wait_closed(2s));
  server_->stop();  // idempotent
  RawConn after(port_);
  EXPECT_FALSE(after.connected());
}

TEST_F(HttpServerTest, StopAcceptingKeepsExistingConnections) {
  start();
  RawConn kept(port_);
  ASSERT_TRUE(kept.send(get("/hello")));
  ASSERT_TRUE(kept.read_response());
  server_->stop_accepting();
  RawConn fresh(port_);
  EXPECT_FALSE(fresh.connected());
  ASSERT_TRUE(kept.send(get("/hello")));
  auto r = kept.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, TooManyConnectionsAreRefused) {
  ServerOptions o;
  o.max_connections = 1;
  start(o);
  auto first = std::make_unique<RawConn>(port_);
  ASSERT_TRUE(first->send(get("/hello")));
  ASSERT_TRUE(first->read_response());  // accepted and counted

  RawConn second(port_);
  ASSERT_TRUE(second.connected());  // the kernel completes the handshake
  if (auto r = second.read_response(3s)) {
    EXPECT_EQ(r->status, 503);
  }
  EXPECT_TRUE(second.wait_closed());

  first.reset();  // frees the slot once the server notices
  EXPECT_TRUE(eventually([&] {
    RawConn c(port_);
    if (!c.send(get("/hello"))) return false;
    auto r = c.read_response(1s);
    return r && r->status == 200;
  }));
  EXPECT_GE(count(503), 1u);
}

TEST_F(HttpServerTest, MetricsCountEveryResponseByStatus) {
  start();
  ASSERT_TRUE(call("GET", "/hello").ok());
  ASSERT_TRUE(call("GET", "/hello").ok());
  ASSERT_TRUE(call("GET", "/nope").ok());
  {
    RawConn c(port_);
    ASSERT_TRUE(c.send("BROKEN\r\n\r\n"));
    ASSERT_TRUE(c.read_response());
  }
  // Counted when the write completes, which may be just after the client has the bytes.
  EXPECT_TRUE(eventually([&] { return count(200) == 2 && count(404) == 1 && count(400) == 1; }))
      << count(200) << " " << count(404) << " " << count(400);
  const std::string text = registry_.render();
  EXPECT_NE(text.find(R"(squadbox_http_requests_total{listener="test",status="200"} 2)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(squadbox_http_request_duration_seconds_count{listener="test"} 4)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(squadbox_http_request_duration_seconds_bucket{listener="test",le="0.0005"})"),
            std::string::npos);
}

TEST_F(HttpServerTest, WorksWithoutMetrics) {
  Server server(ServerOptions{}, router_.handler(), nullptr);
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  auto res = request("GET", "http://127.0.0.1:" + std::to_string(*port) + "/hello", {}, "", 5s);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, StartErrors) {
  start();
  auto again = server_->start();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "http.state");

  ServerOptions taken;
  taken.port = port_;
  Server busy(taken, router_.handler(), nullptr);
  auto bind = busy.start();
  ASSERT_FALSE(bind.ok());
  EXPECT_EQ(bind.error().code, "http.bind");
  EXPECT_EQ(busy.port(), 0);

  ServerOptions bad;
  bad.address = "not-an-address";
  Server invalid(bad, router_.handler(), nullptr);
  auto addr = invalid.start();
  ASSERT_FALSE(addr.ok());
  EXPECT_EQ(addr.error().code, "http.bad_address");
}

TEST_F(HttpServerTest, DestroyWithoutStart) {
  Server unused(ServerOptions{}, router_.handler(), &registry_);
  unused.stop();
}

}  // namespace
}  // namespace sb::http
