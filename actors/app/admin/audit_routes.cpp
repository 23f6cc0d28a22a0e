#include "actors/app/admin/audit_routes.hpp"

#include <charconv>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/time.hpp"

namespace sb::app::admin {
namespace {

// A non-negative decimal integer, nothing else (no sign, no spaces).
bool parse_count(const std::string& text, int64_t& out) {
  if (text.empty() || text.size() > 18) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}

void write_detail(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::string& detail) {
  if (detail.empty()) {
    w.StartObject();
    w.EndObject();
    return;
  }
  rapidjson::Document doc;
  doc.Parse(detail.data(), detail.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    w.RawValue(detail.data(), detail.size(), rapidjson::kObjectType);
    return;
  }
  w.StartObject();
  w.Key("raw");
  w.String(detail.data(), static_cast<rapidjson::SizeType>(detail.size()));
  w.EndObject();
}

}  // namespace

Result<storage::AuditQuery> parse_audit_query(const http::Request& req) {
  storage::AuditQuery q;
  if (auto after = req.query_param("after")) {
    int64_t v = 0;
    if (!parse_count(*after, v)) return make_error("invalid_field", "after: must be a non-negative integer (a seq)");
    q.after = v;
  }
  if (auto limit = req.query_param("limit")) {
    int64_t v = 0;
    if (!parse_count(*limit, v) || v < 1 || v > static_cast<int64_t>(storage::kMaxQueryLimit))
      return make_error("invalid_field",
                        "limit: must be an integer from 1 to " + std::to_string(storage::kMaxQueryLimit));
    q.limit = static_cast<size_t>(v);
  }
  if (auto ns = req.query_param("namespace")) {
    if (ns->empty()) return make_error("invalid_field", "namespace: must not be empty");
    q.namespace_name = *ns;
  }
  return q;
}

std::string records_to_json(const std::vector<security::audit::ChainRecord>& records) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartArray();
  for (const auto& r : records) {
    w.StartObject();
    w.Key("seq");
    w.Int64(r.fields.seq);
    w.Key("at");
    w.String(iso8601_utc(r.fields.at_ms).c_str());
    w.Key("actor");
    w.String(r.fields.actor.data(), static_cast<rapidjson::SizeType>(r.fields.actor.size()));
    w.Key("event");
    w.String(r.fields.event.data(), static_cast<rapidjson::SizeType>(r.fields.event.size()));
    w.Key("subject");
    w.String(r.fields.subject.data(), static_cast<rapidjson::SizeType>(r.fields.subject.size()));
    w.Key("detail");
    write_detail(w, r.fields.detail);
    w.Key("hash");
    w.String(security::audit::to_hex(r.hash).c_str());
    w.EndObject();
  }
  w.EndArray();
  return buf.GetString();
}

void add_audit_routes(http::Router& api, std::string db_path) {
  api.add("GET", kAuditPath, [db_path = std::move(db_path)](const http::Request& req, http::Reply reply) {
    auto query = parse_audit_query(req);
    if (!query) {
      reply(http::Response::error(400, query.error().code, query.error().message));
      return;
    }
    storage::OpenOptions o;
    o.read_only = true;
    auto db = storage::Database::open(db_path, o);
    if (!db) {
      reply(http::Response::error(503, "unavailable", "audit log unreadable: " + db.error().message));
      return;
    }
    auto records = storage::query_records(*db, *query);
    if (!records) {
      reply(http::Response::error(500, "internal", records.error().message));
      return;
    }
    reply(http::Response::json(200, records_to_json(*records)));
  });
}

}  // namespace sb::app::admin
