#pragma once
// What a Namespace actor does with its agent's output, as pure decisions (no I/O):
// where a reply goes (strip internal spans, the target chat, may the namespace address
// it), which bot carries it, what it replies to, its outbox idempotency key, and the
// one-line container lifecycle notices a chat sees. docs/namespace-queue.md.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/messaging/inbound.hpp"
#include "runtime/messaging/stored_message.hpp"
#include "runtime/routing/routing_table.hpp"

namespace sb::namespaces {

struct ReplyPlan {
  enum class Action { drop_empty, denied, local, platform };
  Action action = Action::drop_empty;
  std::string target_jid;
  std::string text;         // internal spans removed
  std::string_view reason;  // may_address's reason (denied, logs)
};

// `out_chat_jid` "" = the turn's chat. A namespace may always answer the chat its turn
// came from; any other target goes through routing::may_address.
ReplyPlan plan_reply(const routing::RoutingTable& table, std::string_view namespace_id, std::string_view turn_chat,
                     std::string_view out_text, std::string_view out_chat_jid);

// What choosing a bot needs to know of each configured bot (a channels::ChannelBot has
// it; the namespace actor copies it once).
struct BotChoice {
  std::string id;  // "slack/main"
  messaging::ChannelKind kind = messaging::ChannelKind::slack;
  bool can_send = false;
};

// The bot that carries a reply to `target_jid`: `latest_bot_id` (the bot of the chat's
// latest inbound message) when it is one of `bots` and can send, else the first bot
// that can send whose platform matches the JID's prefix. nullopt: none.
std::optional<std::string> choose_bot(std::string_view target_jid, std::string_view latest_bot_id,
                                      const std::vector<BotChoice>& bots);

// ChannelBot::build_message's reply_to for an answer to `last` (the turn's newest
// message): Discord the interaction token (reply_ref), Slack the thread (reply_ref,
// "" outside a thread), Telegram and WhatsApp quote the message in group chats.
std::string reply_to_for(const messaging::StoredMessage& last);

// "{namespace_id}:{last_inbound_id}:{n}": the n-th reply of the turn ending at that id.
std::string reply_idempotency_key(std::string_view namespace_id, int64_t last_inbound_id, std::size_t n);

// "2 s", "0.3 s", "1.5 s".
std::string format_seconds(std::chrono::milliseconds d);
// The chat's notice that its agent's container is restarting after a crash.
std::string restarting_line(uint32_t attempt);
// ... that it is down (a failed start or a run that gave up) and when it is tried again.
std::string down_line(std::string_view reason, std::chrono::milliseconds retry_in);
// ... that it is down while no message waits (the next message starts a new one).
std::string down_idle_line(std::string_view reason);
// ... that a turn failed too often and its messages were dropped.
std::string gave_up_line(std::string_view error);
// The agent's final word on a failed turn (an upstream 401, a step limit) as the chat
// sees it: one line (line breaks become spaces), at most 300 bytes on a UTF-8 boundary.
std::string agent_failure_line(std::string_view error);

// Start-failure backoff: base * 2^(streak-1), at most 5 minutes (streak >= 1).
std::chrono::milliseconds start_retry_delay(std::chrono::milliseconds base, uint32_t streak);

}  // namespace sb::namespaces
