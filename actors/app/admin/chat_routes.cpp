#include "actors/app/admin/chat_routes.hpp"

#include <algorithm>
#include <atomic>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/protocol.hpp"
#include "actors/supervision/supervisor.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/time.hpp"
#include "storage/inbound_store.hpp"
#include "storage/namespace_rows.hpp"
#include "storage/namespace_store.hpp"
#include "storage/sqlite.hpp"

namespace sb::app::admin {

// ---- pure ------------------------------------------------------------------------------

namespace {
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
}  // namespace

std::string render_chat_answer(std::string_view namespace_name, int64_t message_id,
                               const channels::local::LocalTurnReply& turn) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("namespace");
  write_string(w, namespace_name);
  w.Key("messageId");
  w.Int64(message_id);
  w.Key("replies");
  w.StartArray();
  std::string joined;
  for (const auto& t : turn.texts) {
    write_string(w, t);
    if (!joined.empty()) joined += '\n';
    joined += t;
  }
  w.EndArray();
  w.Key("reply");
  write_string(w, joined);
  w.EndObject();
  return buf.GetString();
}

std::string render_chat_error(std::string_view code, std::string_view message, int64_t message_id) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  write_string(w, code);
  w.Key("message");
  write_string(w, message);
  w.EndObject();
  w.Key("messageId");
  w.Int64(message_id);
  w.EndObject();
  return buf.GetString();
}

// ---- the route ---------------------------------------------------------------------------

namespace {

// How often a waiting chat checks whether the API is stopping.
constexpr std::chrono::milliseconds kWaitSlice{100};

http::Response unavailable(const std::string& why) {
  return http::Response::error(503, "unavailable", why);
}

Result<int64_t> stored_id(storage::Database& db, const std::string& platform_message_id) {
  auto id = storage::find_inbound_id(db, "local", "local", platform_message_id);
  if (!id) return id.error();
  if (!*id) return make_error("chat.not_stored", "the stored message was not found");
  return **id;
}

}  // namespace

struct ChatApi::Impl {
  Impl(caf::actor_system& sys, std::shared_ptr<channels::local::LocalChatHub> h, ChatApiOptions o)
      : system(sys), hub(std::move(h)), options(std::move(o)) {}

  caf::actor_system& system;
  std::shared_ptr<channels::local::LocalChatHub> hub;
  ChatApiOptions options;

  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
  };
  std::mutex mutex;
  std::list<Worker> workers;  // guarded by mutex
  bool stopped = false;       // guarded by mutex
  std::atomic<bool> stopping{false};

  // Joins the workers that have finished; mutex held.
  void reap_locked() {
    for (auto it = workers.begin(); it != workers.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = workers.erase(it);
      } else {
        ++it;
      }
    }
  }

  void start(std::string ns_ref, ChatRequest req, http::Reply reply) {
    std::lock_guard lock(mutex);
    if (stopped) return reply(unavailable("the node is stopping"));
    reap_locked();
    if (workers.size() >= options.max_waiting)
      return reply(unavailable("too many chats are waiting (" + std::to_string(options.max_waiting) + ")"));
    Worker& w = workers.emplace_back();
    w.thread = std::thread(
        [this, done = w.done, ns_ref = std::move(ns_ref), req = std::move(req), reply = std::move(reply)]() mutable {
          reply(run(ns_ref, std::move(req)));
          done->store(true);
        });
  }

  void stop() {
    std::list<Worker> joining;
    {
      std::lock_guard lock(mutex);
      stopped = true;
      stopping = true;
      joining.swap(workers);
    }
    for (auto& w : joining) w.thread.join();
  }

  http::Response run(const std::string& ns_ref, ChatRequest req) {
    storage::OpenOptions ro;
    ro.read_only = true;
    auto db = storage::Database::open(options.db_path, ro);
    if (!db) return unavailable("database: " + db.error().message);
    auto ns = storage::find_namespace_ref(*db, ns_ref);
    if (!ns) return unavailable("database: " + ns.error().message);
    if (!*ns) return http::Response::error(404, "not_found", "namespace " + ns_ref + " does not exist");
    const storage::NamespaceRef target = **ns;

    messaging::StoredMessage m;
    m.channel = "local";
    m.bot = "local";
    m.chat_jid = channels::local::local_jid(target.name);
    m.sender_id = "operator";
    m.sender_name = std::move(req.sender_name);
    m.text = std::move(req.text);
    m.platform_message_id = uuid_v4();
    m.timestamp_ms = now_ms();
    m.is_group = false;
    const std::string platform_id = m.platform_message_id;

    auto ingest = actors::lookup<actors::ingest_actor>(system, "ingest");
    if (!ingest) return unavailable("the ingest actor is not running");
    std::optional<std::string> ingest_error;
    {
      caf::scoped_actor self{system};
      self->request(ingest, options.ingest_timeout, actors::ingest_atom::value,
                    std::vector<messaging::StoredMessage>{std::move(m)})
          .receive(
              [&](const actors::ingest_result& r) {
                if (!r.error.code.empty()) ingest_error = r.error.message;
              },
              [&](caf::error& err) { ingest_error = system.render(err); });
    }
    if (ingest_error) return unavailable("the message was not stored: " + *ingest_error);
    auto id = stored_id(*db, platform_id);
    if (!id) return unavailable("database: " + id.error().message);
    log::info("chat.sent", {{"namespace", target.name}, {"id", *id}});

    const std::string jid = channels::local::local_jid(target.name);
    const auto deadline = std::chrono::steady_clock::now() + options.reply_timeout;
    while (true) {
      if (stopping.load())
        return http::Response::json(503, render_chat_error("unavailable", "the node is stopping", *id));
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      const auto slice = std::min<std::chrono::steady_clock::duration>(kWaitSlice, deadline - now);
      auto turn = hub->wait(
          jid, *id, std::chrono::duration_cast<std::chrono::milliseconds>(slice) + std::chrono::milliseconds(1));
      if (!turn) continue;
      if (!turn->error.empty())
        return http::Response::json(502, render_chat_error("chat.turn_failed", turn->error, *id));
      return http::Response::json(200, render_chat_answer(target.name, *id, *turn));
    }
    log::info("chat.timeout", {{"namespace", target.name}, {"id", *id}});
    return http::Response::json(
        504,
        render_chat_error(
            "chat.timeout",
            "no reply within " + std::to_string(options.reply_timeout.count()) + " ms; the message stays queued", *id));
  }
};

ChatApi::ChatApi(caf::actor_system& system, std::shared_ptr<channels::local::LocalChatHub> hub, ChatApiOptions options)
    : impl_(std::make_shared<Impl>(system, std::move(hub), std::move(options))) {}

ChatApi::~ChatApi() {
  stop();
}

void ChatApi::stop() {
  impl_->stop();
}

void ChatApi::add_routes(http::Router& api) {
  api.add_prefix("POST", kChatPath, [impl = impl_](const http::Request& req, http::Reply reply) {
    const std::string_view prefix(kChatPath);
    std::string ns = http::percent_decode(std::string_view(req.path).substr(prefix.size()));
    if (ns.empty() || ns.find('/') != std::string::npos)
      return reply(http::Response::error(400, "invalid_field", "namespace: missing or malformed in the path"));
    auto parsed = parse_chat_request(req.body);
    if (!parsed) return reply(http::Response::error(400, parsed.error().code, parsed.error().message));
    impl->start(std::move(ns), std::move(*parsed), std::move(reply));
  });
}

}  // namespace sb::app::admin
