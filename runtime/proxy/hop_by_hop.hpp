#pragma once
// Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message: a
// proxy must not forward them. The fixed set is Connection, Keep-Alive, TE, Trailer,
// Transfer-Encoding (the proxy re-frames bodies itself), Upgrade and every Proxy-*
// header; Connection may name more. Pure.
#include <string>
#include <string_view>
#include <vector>

#include "runtime/http/message.hpp"

namespace sb::proxy {

// One of the fixed set (case-insensitive).
bool is_hop_by_hop(std::string_view name);

// Lower-case option names listed in every Connection header ("close, X-Foo").
std::vector<std::string> connection_options(const http::Headers& headers);

// `headers` without the fixed set and without the headers Connection names.
http::Headers strip_hop_by_hop(const http::Headers& headers);

}  // namespace sb::proxy
