#include "channels/webhooks/webhook_dispatch.hpp"

#include <span>

namespace sb::channels::webhooks {
namespace {

// The platforms' own names; anything else in the first segment is "unknown".
bool known_platform(std::string_view name) {
  return parse_channel_kind(name).ok();
}

// "/webhooks/slack/main" -> {"slack", "main"}; false for any other shape (extra or empty
// segments included).
bool split_path(std::string_view path, std::string_view& platform, std::string_view& name) {
  if (!path.starts_with(kWebhookPrefix)) return false;
  std::string_view rest = path.substr(kWebhookPrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  platform = rest.substr(0, slash);
  name = rest.substr(slash + 1);
  return !platform.empty() && !name.empty() && name.find('/') == std::string_view::npos;
}

WebhookDecision not_found(std::string platform, std::string bot, std::string reason, std::string message) {
  WebhookDecision d;
  d.kind = WebhookDecision::Kind::respond;
  d.platform = std::move(platform);
  d.bot = std::move(bot);
  d.result = "not_found";
  d.reason = reason;
  d.response = http::Response::error(404, reason, message);
  return d;
}

// Which methods a webhook route takes (for the Allow header of a 405).
std::string allowed_methods(messaging::ChannelKind kind) {
  return kind == messaging::ChannelKind::whatsapp ? "GET, POST" : "POST";
}

}  // namespace

std::string webhook_path(const ChannelBot& bot) {
  return std::string(kWebhookPrefix) + bot.id();
}

BotTable::BotTable(const std::vector<std::shared_ptr<const ChannelBot>>& bots) {
  for (const auto& bot : bots) {
    if (bot && !bot->polling()) bots_.emplace(bot->id(), bot);
  }
}

const ChannelBot* BotTable::find(std::string_view platform, std::string_view name) const {
  std::string id;
  id.reserve(platform.size() + 1 + name.size());
  id.append(platform).append("/").append(name);
  auto it = bots_.find(id);
  return it == bots_.end() ? nullptr : it->second.get();
}

WebhookDecision decide(const BotTable& bots, const http::Request& request, std::chrono::system_clock::time_point now) {
  std::string_view platform, name;
  if (!split_path(request.path, platform, name))
    return not_found("unknown", "", "not_found", "no such webhook; use /webhooks/{platform}/{bot}");
  if (!known_platform(platform)) return not_found("unknown", "", "unknown_platform", "unknown platform");
  const ChannelBot* bot = bots.find(platform, name);
  // The name is not echoed back: a probe learns nothing but "no".
  if (!bot) return not_found(std::string(platform), "", "unknown_bot", "no such bot");

  WebhookDecision d;
  d.platform = std::string(platform);
  d.bot = bot->name();
  const WebhookRequest view{request.method, std::span<const Header>(request.headers), request.query, request.body};
  Verdict verdict = bot->verify(view, now);
  switch (verdict.kind) {
    case Verdict::Kind::respond:
      d.kind = WebhookDecision::Kind::respond;
      d.result = "handshake";
      d.response = http::Response::text(verdict.status, std::move(verdict.body),
                                        verdict.content_type.empty() ? "text/plain" : verdict.content_type);
      return d;
    case Verdict::Kind::reject:
      d.reason = verdict.reason;
      if (verdict.status == 405) {
        d.kind = WebhookDecision::Kind::respond;
        d.result = "method_not_allowed";
        d.response = http::Response::error(405, "method_not_allowed", "method not allowed");
        d.response.headers.emplace_back("Allow", allowed_methods(bot->kind()));
        return d;
      }
      d.kind = WebhookDecision::Kind::reject;
      d.result = verdict.status == 401 || verdict.status == 403 ? "rejected" : "malformed";
      d.response = http::Response::error(verdict.status,
                                         verdict.status == 401   ? "unauthorized"
                                         : verdict.status == 403 ? "forbidden"
                                                                 : verdict.reason,
                                         verdict.reason);
      return d;
    case Verdict::Kind::accept: break;
  }

  const std::int64_t received_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  auto parsed = bot->parse(view, received_ms);
  if (!parsed) {
    d.kind = WebhookDecision::Kind::respond;
    d.result = "malformed";
    d.reason = parsed.error().code;
    d.response = http::Response::error(400, parsed.error().code, parsed.error().message);
    return d;
  }
  if (parsed->messages.empty()) {
    d.kind = WebhookDecision::Kind::respond;
    d.result = "ignored";
    d.response = ack_response(parsed->ack_body);
    return d;
  }
  d.kind = WebhookDecision::Kind::deliver;
  d.result = "accepted";
  d.messages = std::move(parsed->messages);
  d.ack_body = std::move(parsed->ack_body);
  return d;
}

http::Response ack_response(const std::string& ack_body) {
  if (ack_body.empty()) return http::Response::text(200, "");
  return http::Response::json(200, ack_body);
}

}  // namespace sb::channels::webhooks
