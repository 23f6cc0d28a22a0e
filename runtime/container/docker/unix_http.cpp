// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include "runtime/container/docker/unix_http.hpp"

#include <utility>

#include <boost/asio/local/stream_protocol.hpp>

#include "runtime/http/exchange.hpp"

namespace sb::container::docker {
namespace {

using namespace http::exchange;
using unix_socket = boost::asio::local::stream_protocol;

}  // namespace

Result<http::Response> UnixHttpClient::request(std::string_view method, std::string_view target,
                                               const http::Headers& headers, std::string body,
                                               std::chrono::milliseconds timeout) const {
  auto made = http::exchange::make_request(method, target, "docker", headers, std::move(body));
  if (!made) return made.error();
  auto& req = *made;

  Driver driver(timeout);
  unix_socket::socket socket(driver.ioc());
  auto close_socket = [&] {
    error_code ignored;
    socket.close(ignored);
  };
  bool done = false;
  error_code ec;
  socket.async_connect(unix_socket::endpoint(socket_path_), [&](error_code e) {
    ec = e;
    done = true;
  });
  if (!driver.wait(done, close_socket)) return http::exchange::timeout("connecting to " + socket_path_);
  if (ec) return make_error("http.connect", "cannot connect to " + socket_path_ + ": " + ec.message());

  return transact(driver, socket, close_socket, req, body_limit_);
}

}  // namespace sb::container::docker
