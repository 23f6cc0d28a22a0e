#pragma once
// Which headers cross the proxy, in each direction. Pure.
//
// Towards the upstream: hop-by-hop headers go (hop_by_hop.hpp); so does every header
// that could carry the client's placeholder credential (X-Api-Key, Authorization and
// the route's own header), Host (the upstream's is set), Content-Length (the proxy
// frames the body it forwards) and Expect (the proxy answered it). The route's real
// credential header is added last, unless the route has no secret (keyless).
// Towards the client: hop-by-hop headers and Content-Length go; the proxy sets the
// framing of what it relays.
#include <optional>
#include <string>

#include "runtime/core/secret.hpp"
#include "runtime/http/message.hpp"
#include "runtime/proxy/route_table.hpp"

namespace sb::proxy {

// The placeholder token a client presented: `X-Api-Key: <t>`, else
// `Authorization: Bearer <t>`. nullopt when neither is there.
std::optional<std::string> client_token(const http::Headers& headers);

http::Headers upstream_request_headers(const http::Headers& client, const Route& route, const Secret& credential);

http::Headers client_response_headers(const http::Headers& upstream);

}  // namespace sb::proxy
