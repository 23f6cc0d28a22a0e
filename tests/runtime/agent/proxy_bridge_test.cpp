// The agent's TCP -> unix socket bridge, with the real build/bin/squadbox-agent as a
// plain process (port 0: the agent picks a free port and logs it): byte-for-byte in
// both directions with half-close, large payloads, many connections at once, a
// missing proxy, SIGTERM with connections open, bad configuration.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>

#include <atomic>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/runtime/agent/unix_server.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

// Deterministic bytes that differ per (seed, position), so a reordered, dropped or
// duplicated chunk is caught.
std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    s[i] = static_cast<char>(x);
  }
  return s;
}

int tcp_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{30, 0};  // a stuck relay fails the test instead of hanging it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

struct BridgeAgent {
  explicit BridgeAgent(sb::test::UnixServer::Handler handler, Env extra = {}) {
    if (handler) server = std::make_unique<sb::test::UnixServer>(socket_path(), std::move(handler));
    Env env{{"SQUADBOX_IPC_DIR", tmp.path() + "/ipc"},
            {"SQUADBOX_PROXY_SOCKET", socket_path()},
            {"SQUADBOX_PROXY_PORT", "0"}};
    for (auto& [k, v] : extra) env[k] = v;
    for (const char* sub : {"input", "messages", "tasks", "errors"})
      std::filesystem::create_directories(tmp.path() + "/ipc/" + sub);
    child = std::make_unique<sb::test::ChildProcess>(sb::test::bin_dir() + "/squadbox-agent",
                                                     std::vector<std::string>{}, env, tmp.path() + "/agent");
  }
  ~BridgeAgent() {
    if (child->wait(0ms) == std::nullopt) {
      child->signal(SIGTERM);
      child->wait(10s);
    }
    if (server) server->stop();
  }
  std::string socket_path() const { return tmp.path() + "/proxy.sock"; }
  std::string log() const { return child->stderr_text(); }

  // The port from `event=agent.bridge_listening port=N`.
  uint16_t port() {
    std::smatch m;
    static const std::regex re("event=agent\\.bridge_listening port=([0-9]+)");
    std::string text;
    bool found = sb::test::wait_until(
        [&] {
          text = log();
          return std::regex_search(text, m, re);
        },
        10s);
    EXPECT_TRUE(found) << text;
    return found ? static_cast<uint16_t>(std::stoi(m[1].str())) : 0;
  }

  sb::test::TempDir tmp{"squadbox-bridge"};
  std::unique_ptr<sb::test::UnixServer> server;
  std::unique_ptr<sb::test::ChildProcess> child;
};

TEST(AgentBridge, LargePayloadsBothWaysWithHalfClose) {
  const std::string request = pattern(8 << 20, 1), response = pattern(6 << 20, 2);
  std::string received;
  std::mutex mu;
  // The server only answers after the client's FIN: proves the half-close is passed on.
  BridgeAgent a([&](int fd) {
    std::string got = sb::test::read_to_eof(fd);
    {
      std::lock_guard<std::mutex> lk(mu);
      received = std::move(got);
    }
    sb::test::write_all(fd, response);
  });
  int fd = tcp_connect(a.port());
  ASSERT_GE(fd, 0) << a.log();
  ASSERT_TRUE(sb::test::write_all(fd, request));
  ::shutdown(fd, SHUT_WR);
  bool eof = false;
  std::string back = sb::test::read_to_eof(fd, &eof);
  ::close(fd);
  EXPECT_TRUE(eof) << "no orderly EOF (timeout or reset)";
  EXPECT_EQ(back.size(), response.size());
  EXPECT_TRUE(back == response) << "response bytes differ";
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_EQ(received.size(), request.size());
  EXPECT_TRUE(received == request) << "request bytes differ";
}

TEST(AgentBridge, ServerHalfCloseLetsTheClientKeepSending) {
  // The server says hello and closes its sending side first; the client then still
  // sends, and the server still receives it.
  std::string tail;
  std::mutex mu;
  BridgeAgent a([&](int fd) {
    sb::test::write_all(fd, "hello\n");
    ::shutdown(fd, SHUT_WR);
    std::string got = sb::test::read_to_eof(fd);
    std::lock_guard<std::mutex> lk(mu);
    tail = std::move(got);
  });
  int fd = tcp_connect(a.port());
  ASSERT_GE(fd, 0);
  bool eof = false;
  EXPECT_EQ(sb::test::read_to_eof(fd, &eof), "hello\n");
  EXPECT_TRUE(eof);  // the server's FIN arrives while our side is still open
  ASSERT_TRUE(sb::test::write_all(fd, "still talking"));
  ::shutdown(fd, SHUT_WR);
  ASSERT_TRUE(sb::test::wait_until(
      [&] {
        std::lock_guard<std::mutex> lk(mu);
        return tail == "still talking";
      },
      10s));
  ::close(fd);
}

TEST(AgentBridge, ManyConcurrentConnections) {
  constexpr int kConns = 64;
  constexpr size_t kBytes = 256 << 10;
  // Echo server: streams everything back as it arrives, then passes the FIN on.
  BridgeAgent a([](int fd) {
    char buf[16384];
    while (true) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      if (!sb::test::write_all(fd, std::string_view(buf, static_cast<size_t>(n)))) return;
    }
    ::shutdown(fd, SHUT_WR);
  });
  uint16_t port = a.port();
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kConns; ++i) {
    clients.emplace_back([&, i] {
      int fd = tcp_connect(port);
      if (fd < 0) return;
      std::string data = pattern(kBytes, 100 + static_cast<uint32_t>(i));
      // Send and receive at the same time: an echo relay would deadlock otherwise.
      std::thread sender([&] {
        sb::test::write_all(fd, data);
        ::shutdown(fd, SHUT_WR);
      });
      bool eof = false;
      std::string back = sb::test::read_to_eof(fd, &eof);
      sender.join();
      ::close(fd);
      if (eof && back == data) ++ok;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kConns) << a.log();
  EXPECT_EQ(a.server->accepted(), kConns);
}

TEST(AgentBridge, MissingProxySocketClosesTheClientAndTheBridgeStaysUp) {
  BridgeAgent a(nullptr);  // nothing listens on the unix socket
  uint16_t port = a.port();
  for (int i = 0; i < 3; ++i) {
    int fd = tcp_connect(port);
    ASSERT_GE(fd, 0) << a.log();
    char c;
    EXPECT_LE(::recv(fd, &c, 1, 0), 0);  // closed (reset), no bytes
    ::close(fd);
  }
  EXPECT_NE(a.log().find("event=agent.bridge_connect_failed"), std::string::npos) << a.log();
  // Once the proxy appears, the same bridge reaches it.
  sb::test::UnixServer late(a.socket_path(), [](int fd) { sb::test::write_all(fd, "late but here"); });
  int fd = tcp_connect(port);
  ASSERT_GE(fd, 0);
  bool eof = false;
  EXPECT_EQ(sb::test::read_to_eof(fd, &eof), "late but here");
  EXPECT_TRUE(eof);
  ::close(fd);
}

TEST(AgentBridge, SigtermStopsTheAgentWithConnectionsOpen) {
  BridgeAgent a([](int fd) { sb::test::read_to_eof(fd); });  // holds its end open
  int fd = tcp_connect(a.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sb::test::write_all(fd, "x"));
  ASSERT_TRUE(sb::test::wait_until([&] { return a.server->accepted() == 1; }, 10s));
  a.child->signal(SIGTERM);
  EXPECT_EQ(a.child->wait(10s), 0) << a.log();
  EXPECT_NE(a.log().find("event=agent.bridge_stopped accepted=1 connect_failures=0 open=1"), std::string::npos)
      << a.log();
  char c;
  EXPECT_LE(::recv(fd, &c, 1, 0), 0);  // the relay closed the client side
  ::close(fd);
}

TEST(AgentBridge, ACommandInAnExecTurnReachesTheProxyThroughIt) {
  // What an SDK inside the container does: the exec-mode command connects to
  // 127.0.0.1:$SQUADBOX_PROXY_PORT (the agent exports the port it picked) mid-turn.
  BridgeAgent a(
      [](int fd) {
        char buf[5];
        size_t got = 0;
        while (got < sizeof buf) {
          ssize_t n = ::recv(fd, buf + got, sizeof buf - got, 0);
          if (n <= 0) return;
          got += static_cast<size_t>(n);
        }
        sb::test::write_all(fd, "upstream saw " + std::string(buf, got));
      },
      {{"SQUADBOX_AGENT_MODE", "exec"},
       {"SQUADBOX_AGENT_ONESHOT", "1"},
       {"SQUADBOX_PROMPT", "go"},
       {"SQUADBOX_AGENT_COMMAND",
        R"(["/bin/bash","-c","exec 3<>/dev/tcp/127.0.0.1/$SQUADBOX_PROXY_PORT; printf 12345 >&3; cat <&3"])"}});
  EXPECT_EQ(a.child->wait(20s), 0) << a.log();
  std::string reply;
  for (auto& e : std::filesystem::directory_iterator(a.tmp.path() + "/ipc/messages")) {
    std::string body = sb::test::read_file(e.path().string());
    if (body.find("\"type\":\"message\"") != std::string::npos) reply = body;
  }
  EXPECT_NE(reply.find("\"text\":\"upstream saw 12345\""), std::string::npos) << reply << a.log();
  EXPECT_EQ(a.server->accepted(), 1);
}

TEST(AgentBridge, BadConfigurationExitsNonZero) {
  sb::test::TempDir tmp("squadbox-bridge-cfg");
  std::filesystem::create_directories(tmp.path() + "/ipc/input");
  sb::test::ChildProcess no_socket(sb::test::bin_dir() + "/squadbox-agent", {},
                                   {{"SQUADBOX_IPC_DIR", tmp.path() + "/ipc"}, {"SQUADBOX_PROXY_PORT", "3001"}},
                                   tmp.path() + "/a");
  EXPECT_EQ(no_socket.wait(10s), 2);
  EXPECT_NE(no_socket.stderr_text().find("SQUADBOX_PROXY_SOCKET"), std::string::npos);

  // A port that is already taken: the agent says so and exits 1.
  int taken = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len);
  sb::test::ChildProcess busy(sb::test::bin_dir() + "/squadbox-agent", {},
                              {{"SQUADBOX_IPC_DIR", tmp.path() + "/ipc"},
                               {"SQUADBOX_PROXY_SOCKET", tmp.path() + "/p.sock"},
                               {"SQUADBOX_PROXY_PORT", std::to_string(ntohs(addr.sin_port))}},
                              tmp.path() + "/b");
  EXPECT_EQ(busy.wait(10s), 1);
  EXPECT_NE(busy.stderr_text().find("event=agent.bridge_failed"), std::string::npos) << busy.stderr_text();
  EXPECT_NE(busy.stderr_text().find("Address already in use"), std::string::npos) << busy.stderr_text();
  ::close(taken);
}

}  // namespace
