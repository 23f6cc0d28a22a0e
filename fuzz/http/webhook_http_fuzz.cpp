// The public webhook listener's request path, end to end: the fuzz input is the raw bytes
// a client sends on one TCP connection to the real WebhookListener (Boost.Beast's parser
// with the listener's limits, sb::http::Server's request handling, the router, decide():
// bot lookup, verify, parse, the ingest hand-off and the ack). One listener, with the four
// platforms' bots (fuzz_bots.hpp), serves every input on 127.0.0.1; the input may hold
// several pipelined requests. The connection is half-closed after the input, and the
// target reads until the server closes: a server that never answers or never closes is
// a hang that libFuzzer reports (-timeout).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "channels/webhooks/webhook_listener.hpp"
#include "fuzz/common/fuzz_bots.hpp"
#include "runtime/core/log.hpp"

namespace {

using namespace sb;

channels::webhooks::WebhookListener* g_listener = nullptr;

std::uint16_t listener_port() {
  static const std::uint16_t port = [] {
    log::configure(log::Level::off, log::Format::logfmt);  // one line per request would drown the fuzzer
    std::vector<std::shared_ptr<const channels::ChannelBot>> bots;
    for (auto kind : {messaging::ChannelKind::slack, messaging::ChannelKind::discord, messaging::ChannelKind::telegram,
                      messaging::ChannelKind::whatsapp})
      bots.push_back(fuzz::make_fuzz_bot(kind));
    channels::webhooks::WebhookListenerOptions options;
    options.server.name = "webhooks";
    options.server.address = "127.0.0.1";
    options.server.port = 0;
    options.server.body_limit = 64 * 1024;
    options.server.request_timeout = std::chrono::milliseconds(5000);
    options.server.threads = 1;
    options.clock = fuzz::fixed_now;
    // The ingest stores every batch at once: the 2xx path runs for each delivery.
    channels::webhooks::IngestSink sink = [](std::vector<messaging::InboundMessage> messages,
                                             channels::webhooks::IngestCallback done) {
      if (messages.empty()) std::abort();  // decide() delivers only batches with messages
      done(Status{});
      return true;
    };
    // Never destroyed: the server's threads run until the process exits (a global, so
    // LeakSanitizer sees it reachable).
    g_listener = new channels::webhooks::WebhookListener(std::move(sink), bots, std::move(options));
    auto port = g_listener->start();
    if (!port) std::abort();
    return port.value();
  }();
  return port;
}

bool write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;  // the server closed early (e.g. after a 400): fine
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

// libFuzzer's entropic scheduler re-weighs every feature an input touched after each run;
// a whole HTTP exchange (Beast at -O0 on the server's thread) touches thousands, which made
// it 20 ms per input (perf: UpdateFeatureFrequency). Off by default here (300+ exec/s
// instead of ~30); an explicit -entropic=1 on the command line still wins.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  static std::vector<char*> args;
  bool given = false;
  for (int i = 0; i < *argc; ++i) {
    args.push_back((*argv)[i]);
    if (std::string_view((*argv)[i]).rfind("-entropic=", 0) == 0) given = true;
  }
  static char entropic_off[] = "-entropic=0";
  if (!given) args.insert(args.begin() + 1, entropic_off);
  args.push_back(nullptr);
  *argc = static_cast<int>(args.size()) - 1;
  *argv = args.data();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::uint16_t port = listener_port();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) std::abort();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 && errno != EINTR) std::abort();
  write_all(fd, data, size);
  ::shutdown(fd, SHUT_WR);
  // Read until the server closes; the answer's content is not checked here (the unit
  // tests do that), only that the server survives and finishes every connection.
  char buf[16384];
  // libFuzzer's timeout check interrupts system calls with SIGALRM: EINTR is retried.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 1000);
    if (ready < 0 && errno != EINTR) std::abort();
    if (ready <= 0) {
      if (std::chrono::steady_clock::now() > deadline) std::abort();  // no answer, no close in 20 s: a hang
      continue;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
  }
  // Abortive close: no TIME_WAIT, so millions of connections do not exhaust the ports.
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
  return 0;
}
