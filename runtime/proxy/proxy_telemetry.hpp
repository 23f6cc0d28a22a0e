#pragma once
// Audit records and Prometheus metrics of the proxy. Records carry who (namespace,
// run), where (route, method, path without the query), the status and sizes: never a
// token, a key or a query string.
#include <cstdint>
#include <string>

#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"

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

// The audit detail JSON objects.
std::string request_detail_json(const ExchangeRecord& r);
std::string denial_detail_json(const DenialRecord& d);

// Thread-safe; audit and metrics may each be absent.
class ProxyTelemetry {
 public:
  ProxyTelemetry(AuditSink audit, metrics::Registry* metrics) : audit_(std::move(audit)), metrics_(metrics) {}

  // event proxy.request, subject = route; squadbox_proxy_requests_total,
  // squadbox_proxy_{request,response}_bytes_total, squadbox_proxy_request_duration_seconds.
  void request(const ExchangeRecord& r) const;
  // event proxy.denied; squadbox_proxy_denied_total{reason}.
  void denied(const DenialRecord& d) const;
  // squadbox_proxy_leases.
  void leases_changed(int delta) const;

 private:
  AuditSink audit_;
  metrics::Registry* metrics_;
};

}  // namespace sb::proxy
