#include "runtime/schedule/task_model.hpp"

#include <set>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/time.hpp"
#include "runtime/messaging/inbound.hpp"

namespace sb::schedule {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
using Value = rapidjson::Value;

Error field_error(std::string_view field, std::string_view message) {
  return make_error("invalid_field", std::string(field) + ": " + std::string(message));
}

bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

Status only_known(const Value& obj, const std::set<std::string_view>& known, std::string_view prefix) {
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (!known.contains(key)) return field_error(std::string(prefix) + std::string(key), "unknown field");
  }
  return {};
}

Result<std::string> string_of(const Value& v, std::string_view field) {
  if (!v.IsString()) return field_error(field, "must be a string");
  return std::string(v.GetString(), v.GetStringLength());
}

Result<int64_t> int_of(const Value& v, std::string_view field, int64_t lo, int64_t hi, std::string_view unit) {
  if (!v.IsInt64() || v.GetInt64() < lo || v.GetInt64() > hi)
    return field_error(
        field, "must be an integer " + std::string(unit) + " from " + std::to_string(lo) + " to " + std::to_string(hi));
  return v.GetInt64();
}

Result<std::string> text_field(const Value& v, std::string_view field, std::size_t max_bytes, bool multiline) {
  auto s = string_of(v, field);
  if (!s) return s.error();
  if (s->empty()) return field_error(field, "must not be empty");
  if (s->size() > max_bytes) return field_error(field, "longer than " + std::to_string(max_bytes) + " bytes");
  if (!multiline && has_control(*s)) return field_error(field, "must not contain control characters");
  return s;
}

Status parse_schedule_member(const Value& v, TaskPatch& p) {
  if (!v.IsObject()) return field_error("schedule", "must be an object {\"type\", \"value\"}");
  if (auto st = only_known(v, {"type", "value"}, "schedule."); !st) return st;
  auto type = v.FindMember("type");
  if (type == v.MemberEnd()) return field_error("schedule.type", "required (cron, interval or once)");
  auto t = string_of(type->value, "schedule.type");
  if (!t) return t.error();
  auto parsed = parse_schedule_type(*t);
  if (!parsed) return field_error("schedule.type", "must be cron, interval or once");
  auto value = v.FindMember("value");
  if (value == v.MemberEnd()) return field_error("schedule.value", "required");
  ScheduleSpec spec{*parsed, ""};
  // An interval may be given as a JSON number of milliseconds too.
  if (*parsed == ScheduleType::interval && value->value.IsInt64()) {
    spec.value = std::to_string(value->value.GetInt64());
  } else {
    auto s = string_of(value->value, "schedule.value");
    if (!s) return s.error();
    spec.value = *s;
  }
  p.schedule = std::move(spec);
  return {};
}

Status parse_container_member(const Value& v, TaskPatch& p) {
  if (!v.IsObject()) return field_error("containerConfig", "must be an object {\"timeoutSecs\", \"image\"}");
  if (auto st = only_known(v, {"timeoutSecs", "image"}, "containerConfig."); !st) return st;
  if (auto it = v.FindMember("timeoutSecs"); it != v.MemberEnd()) {
    auto n = int_of(it->value, "containerConfig.timeoutSecs", 0, kMaxTimeoutSecs, "number of seconds (0 = no limit)");
    if (!n) return n.error();
    p.timeout_secs = *n;
  }
  if (auto it = v.FindMember("image"); it != v.MemberEnd()) {
    if (it->value.IsNull()) {
      p.image = "";
    } else {
      auto s = string_of(it->value, "containerConfig.image");
      if (!s) return s.error();
      if (s->size() > kMaxImageBytes)
        return field_error("containerConfig.image", "longer than " + std::to_string(kMaxImageBytes) + " bytes");
      if (has_control(*s) || s->find(' ') != std::string::npos)
        return field_error("containerConfig.image", "must not contain spaces or control characters");
      p.image = *s;
    }
  }
  return {};
}

Status parse_retry_member(const Value& v, TaskPatch& p) {
  if (v.IsNull()) {
    p.retry = RetryPolicy{};  // null: retries off
    return {};
  }
  if (!v.IsObject()) return field_error("retry", "must be an object {\"maxAttempts\", \"backoffMs\"} or null");
  if (auto st = only_known(v, {"maxAttempts", "backoffMs"}, "retry."); !st) return st;
  RetryPolicy r;
  if (auto it = v.FindMember("maxAttempts"); it != v.MemberEnd()) {
    auto n = int_of(it->value, "retry.maxAttempts", 0, kMaxRetryAttempts, "number of attempts");
    if (!n) return n.error();
    r.max_attempts = *n;
  }
  if (auto it = v.FindMember("backoffMs"); it != v.MemberEnd()) {
    auto n = int_of(it->value, "retry.backoffMs", 100, kMaxRetryBackoffMs, "number of milliseconds");
    if (!n) return n.error();
    r.backoff_ms = *n;
  }
  p.retry = r;
  return {};
}

Status parse_member(std::string_view key, const Value& v, TaskPatch& p) {
  if (key == "name") {
    auto s = text_field(v, "name", kMaxTaskNameBytes, false);
    if (!s) return s.error();
    p.name = *s;
  } else if (key == "group") {
    auto s = string_of(v, "group");
    if (!s) return s.error();
    if (s->empty()) return field_error("group", "must name a namespace (name or id)");
    if (s->size() > 128 || has_control(*s)) return field_error("group", "not a namespace name or id");
    p.group = *s;
  } else if (key == "prompt") {
    auto s = text_field(v, "prompt", kMaxPromptBytes, true);
    if (!s) return s.error();
    p.prompt = *s;
  } else if (key == "schedule") {
    return parse_schedule_member(v, p);
  } else if (key == "containerConfig") {
    return parse_container_member(v, p);
  } else if (key == "contextMode") {
    auto s = string_of(v, "contextMode");
    if (!s) return s.error();
    if (*s == "group")
      p.context_mode = ContextMode::group;
    else if (*s == "isolated")
      p.context_mode = ContextMode::isolated;
    else
      return field_error("contextMode", "must be group or isolated");
  } else if (key == "catchUp") {
    auto s = string_of(v, "catchUp");
    if (!s) return s.error();
    auto c = parse_catch_up(*s);
    if (!c) return field_error("catchUp", "must be once or skip");
    p.catch_up = *c;
  } else if (key == "timeZone") {
    auto s = string_of(v, "timeZone");
    if (!s) return s.error();
    if (auto tz = resolve_time_zone(*s); !tz) return tz.error();
    p.time_zone = *s;
  } else if (key == "announce") {
    if (v.IsNull()) {
      p.announce_jid = "";
    } else {
      auto s = string_of(v, "announce");
      if (!s) return s.error();
      if (auto st = messaging::validate_jid(*s); !st) {
        std::string why = st.error().message;
        if (why.starts_with("jid: ")) why.erase(0, 5);
        return field_error("announce", why);
      }
      p.announce_jid = *s;
    }
  } else if (key == "retry") {
    return parse_retry_member(v, p);
  } else if (key == "enabled") {
    if (!v.IsBool()) return field_error("enabled", "must be true or false");
    if (p.enabled && *p.enabled != v.GetBool()) return field_error("enabled", "contradicts status");
    p.enabled = v.GetBool();
  } else if (key == "status") {
    auto s = string_of(v, "status");
    if (!s) return s.error();
    if (*s != "active" && *s != "paused")
      return field_error("status", "can be set to active or paused (completed and failed are reached by running)");
    const bool enabled = *s == "active";
    if (p.enabled && *p.enabled != enabled) return field_error("status", "contradicts enabled");
    p.enabled = enabled;
  } else {
    return field_error(key, "unknown field");
  }
  return {};
}

void write_opt_time(JsonWriter& w, const std::optional<int64_t>& ms) {
  if (ms)
    w.String(iso8601_utc(*ms).c_str());
  else
    w.Null();
}

void write_str(JsonWriter& w, const std::string& s) {
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_task(JsonWriter& w, const Task& t) {
  w.StartObject();
  w.Key("id");
  write_str(w, t.id);
  w.Key("name");
  write_str(w, t.name);
  w.Key("group");
  write_str(w, t.namespace_name);
  w.Key("groupId");
  write_str(w, t.namespace_id);
  w.Key("prompt");
  write_str(w, t.prompt);
  w.Key("schedule");
  w.StartObject();
  w.Key("type");
  write_str(w, std::string(to_string(t.schedule.type)));
  w.Key("value");
  write_str(w, t.schedule.value);
  w.EndObject();
  w.Key("containerConfig");
  w.StartObject();
  w.Key("timeoutSecs");
  w.Int64(t.container.timeout_secs);
  if (!t.container.image.empty()) {
    w.Key("image");
    write_str(w, t.container.image);
  }
  w.EndObject();
  w.Key("contextMode");
  write_str(w, std::string(to_string(t.context_mode)));
  w.Key("enabled");
  w.Bool(t.enabled());
  w.Key("status");
  write_str(w, std::string(to_string(t.status)));
  w.Key("catchUp");
  write_str(w, std::string(to_string(t.catch_up)));
  w.Key("timeZone");
  write_str(w, t.time_zone);
  w.Key("announce");
  if (t.announce_jid.empty())
    w.Null();
  else
    write_str(w, t.announce_jid);
  w.Key("retry");
  w.StartObject();
  w.Key("maxAttempts");
  w.Int64(t.retry.max_attempts);
  w.Key("backoffMs");
  w.Int64(t.retry.backoff_ms);
  w.EndObject();
  w.Key("nextRun");
  write_opt_time(w, t.next_run_ms);
  w.Key("runRequested");
  w.Bool(t.run_requested_ms.has_value());
  w.Key("lastRun");
  write_opt_time(w, t.last_run_ms);
  w.Key("lastResult");
  if (t.last_run_ms)
    write_str(w, t.last_result);
  else
    w.Null();
  w.Key("createdAt");
  write_str(w, iso8601_utc(t.created_at_ms));
  w.Key("updatedAt");
  write_str(w, iso8601_utc(t.updated_at_ms));
  w.EndObject();
}

void write_run(JsonWriter& w, const TaskRun& r) {
  w.StartObject();
  w.Key("id");
  w.Int64(r.id);
  w.Key("taskId");
  write_str(w, r.task_id);
  w.Key("trigger");
  write_str(w, std::string(to_string(r.trigger)));
  w.Key("attempt");
  w.Int64(r.attempt);
  w.Key("startedAt");
  write_str(w, iso8601_utc(r.started_at_ms));
  w.Key("durationMs");
  if (r.duration_ms)
    w.Int64(*r.duration_ms);
  else
    w.Null();
  w.Key("status");
  write_str(w, std::string(to_string(r.status)));
  w.Key("result");
  write_str(w, r.result);
  w.Key("error");
  if (r.error.empty())
    w.Null();
  else
    write_str(w, r.error);
  w.EndObject();
}

}  // namespace

std::string_view to_string(ContextMode mode) {
  return mode == ContextMode::group ? "group" : "isolated";
}

std::string_view to_string(TaskStatus status) {
  switch (status) {
    case TaskStatus::active: return "active";
    case TaskStatus::paused: return "paused";
    case TaskStatus::completed: return "completed";
    case TaskStatus::failed: return "failed";
  }
  return "active";
}

std::optional<TaskStatus> parse_task_status(std::string_view text) {
  for (auto s : {TaskStatus::active, TaskStatus::paused, TaskStatus::completed, TaskStatus::failed})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

std::string_view to_string(RunTrigger trigger) {
  switch (trigger) {
    case RunTrigger::schedule: return "schedule";
    case RunTrigger::manual: return "manual";
    case RunTrigger::retry: return "retry";
  }
  return "schedule";
}

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::running: return "running";
    case RunStatus::success: return "success";
    case RunStatus::error: return "error";
    case RunStatus::timeout: return "timeout";
  }
  return "running";
}

std::optional<RunTrigger> parse_run_trigger(std::string_view text) {
  for (auto t : {RunTrigger::schedule, RunTrigger::manual, RunTrigger::retry})
    if (to_string(t) == text) return t;
  return std::nullopt;
}

std::optional<RunStatus> parse_run_status(std::string_view text) {
  for (auto s : {RunStatus::running, RunStatus::success, RunStatus::error, RunStatus::timeout})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

Result<TaskPatch> parse_task_patch(std::string_view body, bool create) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError())
    return make_error("invalid_json", std::string("body: malformed JSON (") +
                                          rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                                          std::to_string(doc.GetErrorOffset()) + ")");
  if (!doc.IsObject()) return make_error("invalid_json", "body: must be a JSON object");
  TaskPatch p;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (auto st = parse_member(key, it->value, p); !st) return st.error();
  }
  if (create) {
    if (!p.name) return field_error("name", "required");
    if (!p.group) return field_error("group", "required (a namespace name or id)");
    if (!p.prompt) return field_error("prompt", "required");
    if (!p.schedule) return field_error("schedule", "required ({\"type\": \"cron\", \"value\": \"0 9 * * 1-5\"})");
  } else if (doc.MemberCount() == 0) {
    return field_error("body", "nothing to change");
  }
  return p;
}

Result<TimeZone> resolve_time_zone(std::string_view name) {
  auto tz = TimeZone::locate(name);
  if (!tz) return field_error("timeZone", tz.error().message);
  return tz;
}

Result<Schedule> compile_task_schedule(const ScheduleSpec& spec, const TimeZone& tz) {
  auto s = Schedule::compile(spec, tz);
  if (!s) return field_error("schedule.value", s.error().message);
  return s;
}

std::optional<int64_t> plan_next_run(const Schedule& schedule, const TimeZone& tz, int64_t anchor_ms, int64_t now_ms) {
  const Instant now{std::chrono::milliseconds{now_ms}};
  const Instant anchor{std::chrono::milliseconds{anchor_ms}};
  auto next = next_after(schedule, tz, now, anchor);
  if (!next) return std::nullopt;
  return next->time_since_epoch().count();
}

std::string excerpt(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026
  if (max_bytes < kEllipsis.size()) return {};
  std::size_t cut = max_bytes - kEllipsis.size();
  // Step back over continuation bytes (10xxxxxx) so a character is never split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + std::string(kEllipsis);
}

std::string task_json(const Task& task) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  write_task(w, task);
  return buf.GetString();
}

std::string tasks_json(const std::vector<Task>& tasks) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (const auto& t : tasks) write_task(w, t);
  w.EndArray();
  return buf.GetString();
}

std::string run_json(const TaskRun& run) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  write_run(w, run);
  return buf.GetString();
}

std::string runs_json(const std::vector<TaskRun>& runs) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (const auto& r : runs) write_run(w, r);
  w.EndArray();
  return buf.GetString();
}

}  // namespace sb::schedule
