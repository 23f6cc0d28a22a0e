#include "runtime/proxy/proxy_telemetry.hpp"

#include <fmt/format.h>

#include "runtime/core/throttled_audit_sink.hpp"
#include "runtime/core/utf8.hpp"
#include "runtime/http/message.hpp"

namespace sb::proxy {
namespace {

std::string q(const std::string& s) {
  return "\"" + http::json_escape(s) + "\"";
}

const std::vector<double>& duration_buckets() {
  static const std::vector<double> b = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                        1,     2.5,   5,    10,    30,   60,  120,  300};
  return b;
}

std::string audit_path(const std::string& path) {
  return utf8::truncate(path, kAuditPathBytes);
}

}  // namespace

ProxyTelemetry::ProxyTelemetry(AuditSink audit, metrics::Registry* metrics, std::chrono::milliseconds refusal_interval)
    : audit_(std::move(audit)), metrics_(metrics) {
  if (audit_)
    throttled_ = std::make_shared<sb::ThrottledAuditSink>(
        audit_, sb::EventThrottle<AuditRecord>::Options{refusal_interval, 4096});
}

std::string request_detail_json(const ExchangeRecord& r) {
  return fmt::format(
      "{{\"namespace\":{},\"run\":{},\"route\":{},\"method\":{},\"path\":{},\"status\":{},"
      "\"request_bytes\":{},\"response_bytes\":{},\"duration_ms\":{:.3f}}}",
      q(r.namespace_name), q(r.run_id), q(r.route), q(r.method), q(audit_path(r.path)), r.status, r.request_bytes,
      r.response_bytes, r.duration_ms);
}

std::string denial_detail_json(const DenialRecord& d) {
  return fmt::format(
      "{{\"reason\":{},\"namespace\":{},\"run\":{},\"route\":{},\"method\":{},\"path\":{},\"status\":{}}}", q(d.reason),
      q(d.namespace_name), q(d.run_id), q(d.route), q(d.method), q(audit_path(d.path)), d.status);
}

void ProxyTelemetry::request(const ExchangeRecord& r) const {
  if (audit_) audit_(AuditRecord{"proxy", "proxy.request", r.route, request_detail_json(r)});
  count_request(r);
}

void ProxyTelemetry::refused(const ExchangeRecord& r, const std::string& reason) const {
  if (throttled_)
    throttled_->offer("refused/" + r.namespace_name + "/" + reason + "/" + r.route,
                      AuditRecord{"proxy", "proxy.request", r.route, request_detail_json(r)});
  count_request(r);
}

void ProxyTelemetry::count_request(const ExchangeRecord& r) const {
  if (!metrics_) return;
  const metrics::Labels ns_route = {{"namespace", r.namespace_name}, {"route", r.route}};
  metrics_
      ->counter("squadbox_proxy_requests_total", "Requests forwarded by the credential proxy.",
                {{"namespace", r.namespace_name}, {"route", r.route}, {"status", std::to_string(r.status)}})
      .inc();
  metrics_->counter("squadbox_proxy_request_bytes_total", "Request body bytes sent upstream.", ns_route)
      .inc(r.request_bytes);
  metrics_->counter("squadbox_proxy_response_bytes_total", "Response body bytes relayed to containers.", ns_route)
      .inc(r.response_bytes);
  metrics_
      ->histogram("squadbox_proxy_request_duration_seconds",
                  "Credential proxy exchanges, request head to last response byte.", duration_buckets(), ns_route)
      .observe(r.duration_ms / 1000.0);
}

void ProxyTelemetry::denied(const DenialRecord& d) const {
  if (throttled_)
    throttled_->offer("denied/" + d.namespace_name + "/" + d.reason + "/" + d.route,
                      AuditRecord{"proxy", "proxy.denied", d.route, denial_detail_json(d)});
  if (metrics_)
    metrics_
        ->counter("squadbox_proxy_denied_total", "Proxy requests refused for their credentials.",
                  {{"reason", d.reason}})
        .inc();
}

void ProxyTelemetry::connection_refused(const std::string& reason) const {
  if (metrics_)
    metrics_
        ->counter("squadbox_proxy_connections_refused_total",
                  "Proxy connections closed at accept for a connection limit.", {{"reason", reason}})
        .inc();
}

void ProxyTelemetry::leases_changed(int delta) const {
  if (metrics_)
    metrics_->gauge("squadbox_proxy_leases", "Open credential proxy leases (running containers).").add(delta);
}

}  // namespace sb::proxy
