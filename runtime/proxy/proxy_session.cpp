#include <array>
#include <cstdio>
#include <limits>
#include <optional>

#include "runtime/core/log.hpp"
#include "runtime/core/text.hpp"
#include "runtime/proxy/admission.hpp"
#include "runtime/proxy/forward_headers.hpp"
#include "runtime/proxy/proxy_core.hpp"

namespace sb::proxy::detail {
namespace {

constexpr size_t kHeaderLimit = 64 * 1024;
constexpr size_t kRelayChunk = 16 * 1024;

using std::chrono::milliseconds;

bool is_http_category(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category();
}

bool is_timeout(const error_code& ec) {
  return ec == beast::error::timeout;
}

// The peer closed before sending a byte of its answer: typical of a keep-alive
// connection the upstream had just given up on.
bool closed_early(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == ssl::error::stream_truncated;
}

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE" ||
         method == "TRACE";
}

bool expects_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

bool has_control_chars(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

std::optional<std::string> find_header(const http::Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return std::nullopt;
}

template <class Fields>
http::Headers to_headers(const Fields& fields) {
  http::Headers out;
  for (const auto& f : fields) out.emplace_back(std::string(sv(f.name_string())), std::string(sv(f.value())));
  return out;
}

}  // namespace

struct Session::Exchange {
  Clock::time_point started;
  Clock::time_point deadline;
  RequestHead head;
  unsigned version = 11;
  bool client_keep_alive = true;
  bool head_only = false;  // a HEAD request: no body in any answer
  std::optional<Admission> admission;
  std::optional<Denial> denial;  // the proxy answered by itself
  std::string body;
  int status = 0;
  uint64_t response_bytes = 0;
};

// How an attempt to exchange with the upstream went.
enum class Step {
  relayed,      // the whole response reached the client
  not_sent,     // the request could not be written: safe to retry on a new connection
  no_response,  // the upstream closed without answering
  failed,       // nothing reached the client yet: answer 502/504
  broken,       // part of the response was relayed: only closing is left
};

struct Session::Outcome {
  Step step = Step::failed;
  bool timeout = false;
  std::string error;
  bool client_keep_alive = false;
  bool upstream_reusable = false;
};

net::awaitable<void> Session::run(std::shared_ptr<Session> self) {
  try {
    while (co_await self->serve_one()) {
    }
  } catch (const std::exception& e) {
    log::error("proxy.session_failed", {{"error", e.what()}});
  }
  self->close_now();
}

void Session::close() {
  net::post(client_.get_executor(), [self = shared_from_this()] { self->close_now(); });
}

void Session::close_now() {
  error_code ec;
  client_.socket().shutdown(local::socket::shutdown_both, ec);
  client_.close();
  if (upstream_) upstream_->close();
}

net::awaitable<bool> Session::serve_one() {
  error_code ec;
  const uint64_t max_bytes = static_cast<uint64_t>(core_.config.max_request_bytes);
  bhttp::request_parser<bhttp::empty_body> head_parser;
  head_parser.header_limit(kHeaderLimit);
  head_parser.body_limit(std::numeric_limits<uint64_t>::max());  // admission decides (413)
  client_.expires_after(core_.tuning.client_idle_timeout);
  co_await bhttp::async_read_header(client_, client_buffer_, head_parser, net::redirect_error(use_awaitable, ec));
  if (ec) {
    if (is_http_category(ec) && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      Exchange bad;
      bad.started = Clock::now();
      bad.deadline = bad.started + milliseconds(5000);
      co_await answer(bad, 400, "invalid_request_error", "malformed HTTP request: " + ec.message(), false);
    }
    co_return false;
  }
  Exchange ex;
  ex.started = Clock::now();
  ex.deadline = ex.started + milliseconds(core_.config.request_timeout_ms);
  const auto& req = head_parser.get();
  ex.head.method = std::string(sv(req.method_string()));
  ex.head.target = std::string(sv(req.target()));
  ex.head.headers = to_headers(req);
  if (auto cl = head_parser.content_length()) ex.head.content_length = *cl;
  ex.version = req.version();
  ex.client_keep_alive = req.keep_alive();
  ex.head_only = req.method() == bhttp::verb::head;

  auto decision = admit(ex.head, core_.tokens, core_.routes, max_bytes);
  if (auto* denial = std::get_if<Denial>(&decision)) {
    ex.denial = std::move(*denial);
    // The body stays unread: the connection can carry on only if there is none.
    const bool keep = ex.client_keep_alive && head_parser.is_done();
    const bool written = co_await answer(ex, ex.denial->status, ex.denial->type, ex.denial->message, keep);
    record(ex);
    co_return written&& keep;
  }
  ex.admission = std::move(std::get<Admission>(decision));

  // The body is held in the broker until it is forwarded: a lease may hold only so many
  // bytes at once, a declared length counting in full before it arrives (Beast reserves
  // it), a chunked body as the largest it may become.
  const uint64_t claim = head_parser.is_done() ? 0 : head_parser.content_length().value_or(max_bytes);
  LeaseBudget* budget = slot_.lease();
  const uint64_t budget_limit = static_cast<uint64_t>(core_.config.max_buffered_bytes_per_lease);
  if (claim > 0 && budget) {
    if (budget->buffered_bytes.fetch_add(claim) + claim > budget_limit) {
      budget->buffered_bytes.fetch_sub(claim);
      ex.denial = too_many_bytes(budget_limit);
      ex.denial->grant = ex.admission->grant;
      ex.denial->route = ex.admission->match.route->name;
      ex.denial->path = ex.admission->match.path;
      ex.admission.reset();
      co_await answer(ex, ex.denial->status, ex.denial->type, ex.denial->message, false);
      record(ex);
      co_return false;
    }
  }
  struct Release {
    LeaseBudget* budget;
    uint64_t bytes;
    ~Release() {
      if (budget && bytes) budget->buffered_bytes.fetch_sub(bytes);
    }
  } release{budget, claim};

  if (!head_parser.is_done()) {
    if (auto expect = find_header(ex.head.headers, "expect"); expect && iequals(*expect, "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      const std::vector<net::const_buffer> out{net::buffer(kContinue)};
      if (!co_await write_client(out, ex.deadline)) co_return false;
    }
  }
  bhttp::request_parser<bhttp::string_body> body_parser{std::move(head_parser)};
  body_parser.body_limit(max_bytes);
  if (!body_parser.is_done()) {
    // A short deadline of its own: a stalled upload must not hold its bytes and slot for
    // the whole (long) response deadline.
    client_.expires_at(std::min(ex.deadline, Clock::now() + milliseconds(core_.config.body_timeout_ms)));
    co_await bhttp::async_read(client_, client_buffer_, body_parser, net::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::body_limit) {
      ex.denial = too_large(max_bytes);
      co_await answer(ex, ex.denial->status, ex.denial->type, ex.denial->message, false);
      record(ex);
      co_return false;
    }
    if (ec) co_return false;  // the client left or stalled mid-body: nobody to answer
  }
  ex.body = std::move(body_parser.get().body());
  co_return co_await forward(ex);
}

net::awaitable<bool> Session::forward(Exchange& ex) {
  const Route& route = *ex.admission->match.route;
  const Grant& grant = ex.admission->grant;
  auto fail = [&](Denial d) {
    log::warn("proxy.upstream_failed", {{"route", route.name},
                                        {"namespace", grant.namespace_name},
                                        {"run", grant.run_id},
                                        {"status", d.status},
                                        {"error", d.message}});
    ex.denial = std::move(d);
  };

  auto secret = route.secret.empty() ? Result<Secret>(Secret(""))
                : core_.secrets      ? core_.secrets(route.secret)
                                     : Result<Secret>(make_error("proxy.no_vault", "no secret store configured"));
  if (!route.secret.empty() && (!secret || secret->empty() || has_control_chars(secret->reveal()))) {
    log::error("proxy.credential_unavailable",
               {{"route", route.name},
                {"secret_name", route.secret},
                {"error", secret ? std::string("empty or not a valid header value") : secret.error().message}});
    fail(upstream_failure("the credential of route '" + route.name + "' is unavailable"));
  }

  Outcome outcome;
  if (!ex.denial) {
    std::string head = ex.head.method + " " + ex.admission->match.upstream_target + " HTTP/1.1\r\n";
    for (const auto& [name, value] : upstream_request_headers(ex.head.headers, route, route.credential(*secret)))
      head += name + ": " + value + "\r\n";
    if (!ex.body.empty() || expects_body(ex.head.method))
      head += "Content-Length: " + std::to_string(ex.body.size()) + "\r\n";
    head += "\r\n";

    for (int attempt = 0;; ++attempt) {
      const bool reused = upstream_ && upstream_->key == route.upstream.key() && upstream_->idle_and_open();
      if (!reused) {
        if (upstream_) upstream_->close();
        upstream_.reset();
        const auto connect_deadline =
            std::min(ex.deadline, Clock::now() + milliseconds(core_.config.connect_timeout_ms));
        auto conn = co_await connect_upstream(route.upstream, *core_.tls, connect_deadline);
        if (!conn) {  // unreachable, even by timeout: 502 (504 is for an upstream that stalls)
          outcome = Outcome{Step::failed, false, conn.error().message};
          break;
        }
        upstream_ = std::move(*conn);
      }
      // Not a ?: — GCC 12 evaluates both arms of a conditional holding co_await.
      if (upstream_->tls)
        outcome = co_await relay_response(*upstream_->tls, head, ex);
      else
        outcome = co_await relay_response(*upstream_->plain, head, ex);
      const bool retry =
          reused && attempt == 0 &&
          (outcome.step == Step::not_sent || (outcome.step == Step::no_response && idempotent(ex.head.method)));
      if (!retry) break;
      upstream_->close();
      upstream_.reset();
    }
    // The serialized head held the real credential: do not leave it in freed memory.
    std::fill(head.begin(), head.end(), '\0');
    if (outcome.step == Step::not_sent || outcome.step == Step::no_response) outcome.step = Step::failed;
    if (outcome.step == Step::failed)
      fail(outcome.timeout ? upstream_timeout("upstream timed out: " + outcome.error)
                           : upstream_failure("upstream unavailable: " + outcome.error));
  }

  if (outcome.step != Step::relayed || !outcome.upstream_reusable) {
    if (upstream_) upstream_->close();
    upstream_.reset();
  }
  if (ex.denial) {
    const bool written =
        co_await answer(ex, ex.denial->status, ex.denial->type, ex.denial->message, ex.client_keep_alive);
    record(ex);
    co_return written&& ex.client_keep_alive;
  }
  if (outcome.step == Step::broken)
    log::warn(
        "proxy.stream_broken",
        {{"route", route.name}, {"namespace", grant.namespace_name}, {"run", grant.run_id}, {"error", outcome.error}});
  record(ex);
  co_return outcome.step == Step::relayed&& outcome.client_keep_alive;
}

template <class Stream>
net::awaitable<Session::Outcome> Session::relay_response(Stream& up, const std::string& head, Exchange& ex) {
  error_code ec;
  UpstreamConnection& conn = *upstream_;
  conn.lowest().expires_at(ex.deadline);
  const std::array<net::const_buffer, 2> request{net::buffer(head), net::buffer(ex.body)};
  co_await net::async_write(up, request, net::redirect_error(use_awaitable, ec));
  if (ec) co_return Outcome{Step::not_sent, is_timeout(ec), "sending the request: " + ec.message()};

  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
  int status = 0;
  for (;;) {
    parser.emplace();
    parser->header_limit(kHeaderLimit);
    parser->body_limit(std::numeric_limits<uint64_t>::max());  // relayed, never stored
    if (ex.head_only) parser->skip(true);
    const size_t buffered = conn.buffer.size();
    co_await bhttp::async_read_header(up, conn.buffer, *parser, net::redirect_error(use_awaitable, ec));
    if (ec) {
      const bool nothing = buffered == 0 && conn.buffer.size() == 0 && closed_early(ec);
      co_return Outcome{nothing ? Step::no_response : Step::failed, is_timeout(ec),
                        "reading the response: " + ec.message()};
    }
    status = parser->get().result_int();
    if (status / 100 != 1 || status == 101) break;
    // 100 Continue, 103 Early Hints: interim answers; the final one follows.
  }
  if (status == 101) co_return Outcome{Step::failed, false, "the upstream switched protocols"};
  ex.status = status;

  auto& res = parser->get();
  const bool no_body = ex.head_only || status == 204 || status == 304;
  const auto length = parser->content_length();
  bool chunked_out = false;
  bool client_keep = ex.client_keep_alive;
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " +
                    (res.reason().empty() ? std::string(http::reason_phrase(status)) : std::string(sv(res.reason()))) +
                    "\r\n";
  for (const auto& [name, value] : client_response_headers(to_headers(res))) out += name + ": " + value + "\r\n";
  if (no_body) {
    if (ex.head_only && length) out += "Content-Length: " + std::to_string(*length) + "\r\n";
  } else if (length && !parser->chunked()) {
    out += "Content-Length: " + std::to_string(*length) + "\r\n";
  } else if (ex.version >= 11) {
    out += "Transfer-Encoding: chunked\r\n";  // streamed as it arrives (server-sent events)
    chunked_out = true;
  } else {
    client_keep = false;  // an HTTP/1.0 client: the end of the body is the end of the connection
  }
  if (!client_keep)
    out += "Connection: close\r\n";
  else if (ex.version < 11)
    out += "Connection: keep-alive\r\n";
  out += "\r\n";

  // Fewer writes, fewer wake-ups of the client: the head goes out together with the
  // first piece of body when that piece is already here, and the last chunk marker
  // together with the last piece. A head whose body is still on its way goes out
  // alone at once (a stream must show its head before its first event).
  std::array<char, kRelayChunk> chunk;
  std::array<char, 24> size_line{};
  std::vector<net::const_buffer> buffers;
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  bool head_sent = false;
  while (!parser->is_done()) {
    if (!head_sent && conn.buffer.size() == 0) {
      buffers.assign(1, net::buffer(out));
      if (!co_await write_client(buffers, ex.deadline)) co_return Outcome{Step::broken, false, "the client went away"};
      head_sent = true;
    }
    parser->get().body().data = chunk.data();
    parser->get().body().size = chunk.size();
    co_await bhttp::async_read_some(up, conn.buffer, *parser, net::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec == ssl::error::stream_truncated && parser->need_eof()) {
      ec = {};  // a TLS peer that ends a close-delimited body without close_notify
      parser->put_eof(ec);
    }
    if (ec)  // before the head went out, the client can still get a clean 502/504
      co_return Outcome{head_sent ? Step::broken : Step::failed, is_timeout(ec),
                        "reading the response body: " + ec.message()};
    const size_t n = chunk.size() - parser->get().body().size;
    buffers.clear();
    if (!head_sent) buffers.push_back(net::buffer(out));
    if (n > 0 && chunked_out) {
      const int len = std::snprintf(size_line.data(), size_line.size(), "%zx\r\n", n);
      buffers.push_back(net::buffer(size_line.data(), static_cast<size_t>(len)));
      buffers.push_back(net::buffer(chunk.data(), n));
      buffers.push_back(net::buffer(kCrlf.data(), kCrlf.size()));
    } else if (n > 0) {
      buffers.push_back(net::buffer(chunk.data(), n));
    }
    if (chunked_out && parser->is_done()) buffers.push_back(net::buffer(kLastChunk.data(), kLastChunk.size()));
    ex.response_bytes += n;
    if (buffers.empty()) continue;
    if (!co_await write_client(buffers, ex.deadline)) co_return Outcome{Step::broken, false, "the client went away"};
    head_sent = true;
    if (chunked_out && parser->is_done()) chunked_out = false;  // the last chunk went out above
  }
  buffers.clear();
  if (!head_sent) buffers.push_back(net::buffer(out));  // no body at all (HEAD, 204, 304, length 0)
  if (chunked_out) buffers.push_back(net::buffer(kLastChunk.data(), kLastChunk.size()));
  if (!buffers.empty() && !co_await write_client(buffers, ex.deadline))
    co_return Outcome{Step::broken, false, "the client went away"};
  Outcome done{Step::relayed, false, {}};
  done.client_keep_alive = client_keep;
  done.upstream_reusable = parser->keep_alive() && !parser->need_eof();
  co_return done;
}

net::awaitable<bool> Session::answer(Exchange& ex, int status, const std::string& type, const std::string& message,
                                     bool keep_alive) {
  ex.status = status;
  const std::string body = error_body(type, message);
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(http::reason_phrase(status)) +
                     "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive) head += "Connection: close\r\n";
  head += "\r\n";
  std::vector<net::const_buffer> buffers{net::buffer(head)};
  if (!ex.head_only) buffers.push_back(net::buffer(body));
  co_return co_await write_client(buffers, ex.deadline);
}

net::awaitable<bool> Session::write_client(const std::vector<net::const_buffer>& buffers, Clock::time_point deadline) {
  error_code ec;
  client_.expires_at(deadline);
  co_await net::async_write(client_, buffers, net::redirect_error(use_awaitable, ec));
  co_return !ec;
}

void Session::record(const Exchange& ex) const {
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - ex.started).count();
  const Grant* grant =
      ex.admission ? &ex.admission->grant : (ex.denial && ex.denial->grant ? &*ex.denial->grant : nullptr);
  std::string route = ex.admission ? ex.admission->match.route->name : (ex.denial ? ex.denial->route : "");
  const std::string path = ex.admission ? ex.admission->match.path : (ex.denial ? ex.denial->path : "");
  if (ex.denial && is_credential_denial(*ex.denial)) {
    core_.telemetry.denied(DenialRecord{ex.denial->reason, grant ? grant->namespace_name : "",
                                        grant ? grant->run_id : "", route, ex.head.method, path, ex.status});
    return;
  }
  if (route.empty()) route = "unknown";  // 400/404: the client's text never becomes a label
  const ExchangeRecord r{grant ? grant->namespace_name : "",
                         grant ? grant->run_id : "",
                         route,
                         ex.head.method,
                         path,
                         ex.status,
                         ex.body.size(),
                         ex.response_bytes,
                         ms};
  // What the proxy refused by itself costs the container nothing: aggregated.
  if (ex.denial && ex.status < 500)
    core_.telemetry.refused(r, ex.denial->reason);
  else
    core_.telemetry.request(r);
}

}  // namespace sb::proxy::detail
