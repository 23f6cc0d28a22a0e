#pragma once
// Internal to sb_proxy: the Boost.Asio/Beast names the proxy's .cpp files share.
// Include only from .cpp files (it pulls in Beast and OpenSSL).
// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include <chrono>
#include <string_view>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace sb::proxy::detail {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using local = net::local::stream_protocol;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
using net::use_awaitable;

inline std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

}  // namespace sb::proxy::detail
