#pragma once
// The local chat channel's admin route (docs/local-chat.md), bearer-protected through
// AdminApiOptions::extensions:
//   POST /api/v1/chat/{namespace}   {"text": "...", "sender"?: "display name"}
//     200 {"namespace","messageId","replies":[...],"reply":"joined with \n"}
//     400 invalid_json / invalid_field (the message starts with the field)
//     404 not_found: no namespace with that name or id
//     502 chat.turn_failed (with messageId)  504 chat.timeout (with messageId; the
//     message stays queued and its reply still lands in the hub)  503 unavailable
// The message goes through the same path as a platform message: the "ingest" actor
// stores it (channel/bot "local", JID "local:{name}"), the router routes it, the
// namespace's turn answers into the LocalChatHub, where this route waits for it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "channels/local/chat_request.hpp"
#include "channels/local/local_chat_hub.hpp"
#include "runtime/core/result.hpp"
#include "runtime/http/router.hpp"

namespace caf {
class actor_system;
}

namespace sb::app::admin {

inline constexpr const char* kChatPath = "/api/v1/chat/";
// ---- pure ------------------------------------------------------------------------------

// The body's decoding lives beside the local chat channel (CAF-free, so that it is fuzzed
// on its own: fuzz/admin/admin_bodies_fuzz.cpp).
using channels::local::ChatRequest;
using channels::local::kMaxChatTextBytes;
using channels::local::kMaxSenderNameBytes;
using channels::local::parse_chat_request;

// The 200 body for a finished turn.
std::string render_chat_answer(std::string_view namespace_name, int64_t message_id,
                               const channels::local::LocalTurnReply& turn);
// {"error":{"code","message"},"messageId":N} for 502/504.
std::string render_chat_error(std::string_view code, std::string_view message, int64_t message_id);

// ---- the route ---------------------------------------------------------------------------

struct ChatApiOptions {
  std::string db_path;                              // to resolve namespaces and stored ids
  std::chrono::milliseconds reply_timeout{120000};  // [namespaces] chat_reply_timeout_ms
  std::chrono::milliseconds ingest_timeout{10000};  // storing the message
  std::size_t max_waiting = 64;                     // chats waiting at once; beyond: 503
};

// Each chat waits on a thread of its own (a server thread must not block); the threads
// are joined by stop() / the destructor. `system` must outlive this object.
class ChatApi {
 public:
  ChatApi(caf::actor_system& system, std::shared_ptr<channels::local::LocalChatHub> hub, ChatApiOptions options);
  ~ChatApi();  // stop()
  ChatApi(const ChatApi&) = delete;
  ChatApi& operator=(const ChatApi&) = delete;

  // Registers POST /api/v1/chat/{namespace}. The routes may outlive this object (they
  // answer 503 once it is stopped).
  void add_routes(http::Router& api);
  // Waiting chats answer 503 within ~100 ms; their threads are joined. Idempotent.
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sb::app::admin
