#include "actors/app/admin/outbox_routes.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/supervision/supervisor.hpp"
#include "channels/delivery/enqueue_request.hpp"
#include "storage/sqlite.hpp"

namespace sb::app::admin {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
void write_string_or_null(JsonWriter& w, const std::string& s) {
  if (s.empty()) {
    w.Null();
  } else {
    write_string(w, s);
  }
}

Result<std::vector<storage::OutboxRow>> read_rows(const std::string& db_path, const storage::ListFilter& filter) {
  storage::OpenOptions o;
  o.read_only = true;
  auto db = storage::Database::open(db_path, o);
  if (!db) return db.error();
  const storage::Query q = storage::list_query(filter);
  auto stmt = db->prepare(q.sql);
  if (!stmt) return stmt.error();
  for (size_t i = 0; i < q.params.size(); ++i) {
    if (auto s = stmt->bind_param(static_cast<int>(i + 1), q.params[i]); !s) return s.error();
  }
  std::vector<storage::OutboxRow> rows;
  while (true) {
    auto more = stmt->step();
    if (!more) return more.error();
    if (!*more) break;
    storage::OutboxRow r;
    r.id = stmt->column_int64(0);
    r.channel = stmt->column_text(1);
    r.bot = stmt->column_text(2);
    r.chat_jid = stmt->column_text(3);
    r.text = stmt->column_text(4);
    r.reply_to = stmt->column_text(5);
    r.state = stmt->column_text(6);
    r.attempts = stmt->column_int64(7);
    r.next_attempt_at = stmt->column_int64(8);
    r.last_error = stmt->column_text(9);
    r.delivered_id = stmt->column_text(10);
    r.created_at = stmt->column_int64(11);
    r.updated_at = stmt->column_int64(12);
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace

Result<actors::outbound_message> parse_enqueue_body(std::string_view body) {
  auto r = channels::delivery::parse_enqueue_request(body);
  if (!r) return r.error();
  return actors::outbound_message{std::move(r->bot_id), std::move(r->chat_jid), std::move(r->text),
                                  std::move(r->reply_to)};
}

std::string render_rows(const std::vector<storage::OutboxRow>& rows) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("messages");
  w.StartArray();
  for (const auto& r : rows) {
    w.StartObject();
    w.Key("id");
    w.Int64(r.id);
    w.Key("bot");
    write_string(w, r.channel + "/" + r.bot);
    w.Key("chatJid");
    write_string(w, r.chat_jid);
    w.Key("text");
    write_string(w, r.text);
    w.Key("replyTo");
    // A Discord reply_to is the interaction token: a credential for 15 minutes.
    write_string_or_null(w, r.channel == "discord" ? std::string() : r.reply_to);
    w.Key("state");
    write_string(w, r.state);
    w.Key("attempts");
    w.Int64(r.attempts);
    w.Key("nextAttemptAt");
    w.Int64(r.next_attempt_at);
    w.Key("lastError");
    write_string_or_null(w, r.last_error);
    w.Key("deliveredId");
    write_string_or_null(w, r.delivered_id);
    w.Key("createdAt");
    w.Int64(r.created_at);
    w.Key("updatedAt");
    w.Int64(r.updated_at);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

http::Response enqueue_error_response(const Error& error) {
  const std::string& code = error.code;
  const std::string& message = error.message;
  if (code == "outbox.unknown_bot") return http::Response::error(404, "unknown_bot", "bot: " + message);
  if (code == "outbox.bad_jid") return http::Response::error(400, "invalid_field", "chatJid: " + message);
  if (code == "outbox.empty_text" || code == "outbox.too_long") {
    return http::Response::error(400, "invalid_field", "text: " + message);
  }
  if (code == "outbox.bad_reply_to") return http::Response::error(400, "invalid_field", "replyTo: " + message);
  if (code == "outbox.cannot_send") return http::Response::error(400, "invalid_field", "bot: " + message);
  return http::Response::error(503, "unavailable", message);
}

void add_outbox_routes(http::Router& api, caf::actor_system& system, std::string db_path,
                       std::chrono::milliseconds actor_timeout) {
  api.add("POST", kOutboxPath, [&system, actor_timeout](const http::Request& req, http::Reply reply) {
    auto message = parse_enqueue_body(req.body);
    if (!message) return reply(http::Response::error(400, message.error().code, message.error().message));
    auto outbox = actors::lookup<actors::outbox_actor>(system, "outbox");
    if (!outbox) return reply(http::Response::error(503, "unavailable", "the outbox is not running"));
    system.spawn([outbox, actor_timeout, reply, m = std::move(*message)](caf::event_based_actor* self) {
      self->request(outbox, actor_timeout, actors::enqueue_atom::value, m)
          .then(
              [reply](const actors::enqueue_result& result) {
                if (!result.error.code.empty()) return reply(enqueue_error_response(result.error));
                rapidjson::StringBuffer buf;
                JsonWriter w(buf);
                w.StartObject();
                w.Key("ids");
                w.StartArray();
                for (const int64_t id : result.outbox_ids) w.Int64(id);
                w.EndArray();
                w.EndObject();
                reply(http::Response::json(202, buf.GetString()));
              },
              [reply](caf::error&) {
                reply(http::Response::error(503, "unavailable", "the outbox did not answer in time"));
              });
    });
  });
  api.add("GET", kOutboxPath, [db_path](const http::Request& req, http::Reply reply) {
    auto filter = storage::parse_list_filter(req.query_param("state").value_or(""), req.query_param("bot").value_or(""),
                                             req.query_param("limit").value_or(""));
    if (!filter) {
      const std::string& code = filter.error().code;
      const std::string param = code == "outbox.bad_state" ? "state" : code == "outbox.bad_bot" ? "bot" : "limit";
      return reply(http::Response::error(400, "invalid_field", param + ": " + filter.error().message));
    }
    auto rows = read_rows(db_path, *filter);
    if (!rows) return reply(http::Response::error(503, "unavailable", rows.error().message));
    reply(http::Response::json(200, render_rows(*rows)));
  });
}

}  // namespace sb::app::admin
