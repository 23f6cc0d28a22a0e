#pragma once
// Audit records and Prometheus metrics of the proxy. Records carry who (namespace,
// run), where (route, method, path without the query), the status and sizes: never a
// token, a key or a query string.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"

namespace sb {
class ThrottledAuditSink;
}

namespace sb::proxy {

struct ExchangeRecord {
  std::string namespace_name;
  std::string run_id;
  std::string route;
  std::string method;
  std::string path;
  int status = 0;
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  double duration_ms = 0;
};

struct DenialRecord {
  std::string reason;          // "missing_token", "unknown_token", "route_not_allowed"
  std::string namespace_name;  // "" when the token was not accepted
  std::string run_id;
  std::string route;
  std::string method;
  std::string path;
  int status = 0;
};

// Paths in audit details are cut to this many bytes (a request line may be 64 KiB).
inline constexpr size_t kAuditPathBytes = 256;

// The audit detail JSON objects.
std::string request_detail_json(const ExchangeRecord& r);
std::string denial_detail_json(const DenialRecord& d);

// Thread-safe; audit and metrics may each be absent. What a container can cause at will
// without a valid request (refusals: 4xx answered by the proxy itself) is audited once
// per namespace, reason and route in `refusal_interval`, the rest counted into one
// summary record (docs/credential-proxy.md).
class ProxyTelemetry {
 public:
  ProxyTelemetry(AuditSink audit, metrics::Registry* metrics,
                 std::chrono::milliseconds refusal_interval = std::chrono::milliseconds(60000));

  // event proxy.request, subject = route; squadbox_proxy_requests_total,
  // squadbox_proxy_{request,response}_bytes_total, squadbox_proxy_request_duration_seconds.
  void request(const ExchangeRecord& r) const;
  // The same for a request the proxy refused by itself (400, 404, 413, 429): aggregated.
  void refused(const ExchangeRecord& r, const std::string& reason) const;
  // event proxy.denied (aggregated); squadbox_proxy_denied_total{reason}.
  void denied(const DenialRecord& d) const;
  // squadbox_proxy_leases.
  void leases_changed(int delta) const;
  // A connection closed at accept: squadbox_proxy_connections_refused_total{reason}.
  void connection_refused(const std::string& reason) const;

 private:
  void count_request(const ExchangeRecord& r) const;

  AuditSink audit_;
  std::shared_ptr<sb::ThrottledAuditSink> throttled_;
  metrics::Registry* metrics_;
};

}  // namespace sb::proxy
