#include "channels/bot/outbound.hpp"

#include <cmath>

#include "runtime/core/text.hpp"

namespace sb::channels {

std::chrono::milliseconds clamp_retry(double seconds) {
  if (std::isnan(seconds) || seconds <= 0) return std::chrono::milliseconds(0);
  if (std::isinf(seconds)) return kMaxRetryAfter;
  double ms = std::ceil(seconds * 1000.0);
  if (ms >= static_cast<double>(kMaxRetryAfter.count())) return kMaxRetryAfter;
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::optional<std::chrono::milliseconds> parse_retry_seconds(std::string_view text) {
  text = trim(text, " \t");
  if (text.empty()) return std::nullopt;
  double whole = 0, scale = 1;
  bool digits = false, dot = false;
  for (char c : text) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (c >= '0' && c <= '9') {
      digits = true;
      if (dot) {
        scale /= 10;
        whole += (c - '0') * scale;
      } else {
        whole = whole * 10 + (c - '0');  // stays finite: clamped below
      }
    } else {
      return std::nullopt;
    }
  }
  if (!digits) return std::nullopt;
  return clamp_retry(whole);
}

DeliveryOutcome success_outcome(std::string delivered_id) {
  DeliveryOutcome o;
  o.kind = DeliveryOutcome::Kind::success;
  o.reason = "ok";
  o.delivered_id = std::move(delivered_id);
  return o;
}

DeliveryOutcome retry_outcome(std::chrono::milliseconds after, std::string reason, std::string detail) {
  DeliveryOutcome o;
  o.kind = DeliveryOutcome::Kind::retry_after;
  o.reason = std::move(reason);
  o.detail = std::move(detail);
  o.retry_after = after;
  return o;
}

DeliveryOutcome transient_outcome(std::string reason, std::string detail) {
  DeliveryOutcome o;
  o.kind = DeliveryOutcome::Kind::transient;
  o.reason = std::move(reason);
  o.detail = std::move(detail);
  return o;
}

DeliveryOutcome permanent_outcome(std::string reason, std::string detail) {
  DeliveryOutcome o;
  o.kind = DeliveryOutcome::Kind::permanent;
  o.reason = std::move(reason);
  o.detail = std::move(detail);
  return o;
}

DeliveryOutcome network_failure(std::string_view what) {
  return transient_outcome("network", std::string(what));
}

std::string http_reason(int status) {
  return "http_" + std::to_string(status);
}

DeliveryOutcome classify_by_status(const HttpReply& reply) {
  int s = reply.status;
  if (s >= 200 && s < 300) return success_outcome("");
  if (s == 429) {
    auto after = find_header(reply.headers, "Retry-After");
    auto parsed = after ? parse_retry_seconds(*after) : std::nullopt;
    return retry_outcome(parsed.value_or(kDefaultRetryAfter), "rate_limited");
  }
  if (s == 408 || (s >= 500 && s < 600)) return transient_outcome(http_reason(s));
  if (s < 100) return network_failure("no HTTP status");
  return permanent_outcome(http_reason(s));
}

}  // namespace sb::channels
