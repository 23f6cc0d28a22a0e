#include "runtime/ipc/protocol.hpp"

#include <algorithm>
#include <cstdio>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sb::ipc {
namespace {

using rapidjson::Value;

Error bad(std::string code, std::string msg) {
  return make_error(std::move(code), std::move(msg));
}

// Field access with the protocol's rules: a present field must have the right type;
// unknown fields are ignored so newer writers stay readable by older readers.
struct Fields {
  const Value& obj;
  std::optional<Error> err;

  std::optional<std::string> opt(const char* key) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || it->value.IsNull()) return std::nullopt;
    if (!it->value.IsString()) {
      fail(std::string("field '") + key + "' must be a string");
      return std::nullopt;
    }
    return std::string(it->value.GetString(), it->value.GetStringLength());
  }
  std::string req(const char* key, bool non_empty = true) {
    auto v = opt(key);
    if (!v) {
      fail(std::string("field '") + key + "' is required");
      return {};
    }
    if (non_empty && v->empty()) fail(std::string("field '") + key + "' must not be empty");
    return std::move(*v);
  }
  void one_of(const std::optional<std::string>& v, const char* key, std::initializer_list<std::string_view> allowed) {
    if (!v) return;
    if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end())
      fail(std::string("field '") + key + "' has an unsupported value");
  }
  void id_like(const std::optional<std::string>& v, const char* key) {
    if (v && v->size() > kMaxIdBytes) fail(std::string("field '") + key + "' is too long");
  }
  void fail(std::string msg) {
    if (!err) err = bad("ipc.invalid_field", std::move(msg));
  }
};

void validate_schedule_value(Fields& f, const std::optional<std::string>& type,
                             const std::optional<std::string>& value) {
  if (!type || !value) return;
  if (*type == "interval" && (value->empty() || value->size() > 15 ||
                              !std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; }) ||
                              std::all_of(value->begin(), value->end(), [](char c) { return c == '0'; })))
    f.fail("interval schedule_value must be a positive number of milliseconds");
}

Result<Payload> decode_object(Box box, const Value& obj) {
  auto t = obj.FindMember("type");
  if (t == obj.MemberEnd() || !t->value.IsString())
    return bad("ipc.invalid_field", "field 'type' is required and must be a string");
  std::string_view type(t->value.GetString(), t->value.GetStringLength());

  // Which directory each type belongs to; checked before the fields, so a payload in
  // the wrong place is reported as such even if it is otherwise fine.
  std::optional<Box> home;
  if (type == "message")
    home = box == Box::input ? Box::input : Box::messages;
  else if (type == "turn_done" || type == "tool_refused" || type == "progress")
    home = Box::messages;
  else if (type == "schedule_task" || type == "pause_task" || type == "resume_task" || type == "cancel_task" ||
           type == "update_task" || type == "register_group")
    home = Box::tasks;
  if (!home) return bad("ipc.unknown_type", "unknown type '" + std::string(type) + "'");
  if (*home != box)
    return bad("ipc.wrong_directory",
               "type '" + std::string(type) + "' is not accepted in " + std::string(box_dir(box)) + "/");

  Fields f{obj, std::nullopt};
  Payload out;
  if (type == "message" && box == Box::input) {
    InputMessage m;
    m.id = f.req("id");
    m.text = f.req("text", false);
    m.chat_jid = f.opt("chatJid");
    f.id_like(m.id, "id");
    out = std::move(m);
  } else if (type == "message") {
    OutboundMessage m;
    m.text = f.req("text", false);
    m.in_reply_to = f.opt("inReplyTo");
    m.chat_jid = f.opt("chatJid");
    f.id_like(m.in_reply_to, "inReplyTo");
    out = std::move(m);
  } else if (type == "turn_done") {
    TurnDone d;
    d.in_reply_to = f.req("inReplyTo");
    auto status = f.opt("status");
    if (!status) f.fail("field 'status' is required");
    f.one_of(status, "status", {"ok", "error"});
    d.ok = status && *status == "ok";
    if (!d.ok) d.error = f.opt("error").value_or("");
    if (auto it = obj.FindMember("retry"); it != obj.MemberEnd() && !it->value.IsNull()) {
      if (!it->value.IsBool())
        f.fail("field 'retry' must be a boolean");
      else
        d.retry = it->value.GetBool();
    }
    f.id_like(d.in_reply_to, "inReplyTo");
    out = std::move(d);
  } else if (type == "tool_refused") {
    ToolRefused r;
    r.tool = f.req("tool");
    r.in_reply_to = f.opt("inReplyTo");
    if (r.tool.size() > kMaxToolNameBytes) f.fail("field 'tool' is too long");
    f.id_like(r.in_reply_to, "inReplyTo");
    out = std::move(r);
  } else if (type == "progress") {
    Progress p;
    p.text = f.req("text");
    p.in_reply_to = f.opt("inReplyTo");
    if (p.text.size() > kMaxProgressBytes) f.fail("field 'text' is too long");
    if (p.text.find('\n') != std::string::npos) f.fail("field 'text' must be one line");
    f.id_like(p.in_reply_to, "inReplyTo");
    out = std::move(p);
  } else if (type == "schedule_task") {
    ScheduleTask s;
    s.prompt = f.req("prompt");
    s.schedule_type = f.req("schedule_type");
    s.schedule_value = f.req("schedule_value");
    s.context_mode = f.opt("context_mode").value_or("isolated");
    s.target_jid = f.opt("targetJid");
    f.one_of(s.schedule_type, "schedule_type", {"cron", "interval", "once"});
    f.one_of(s.context_mode, "context_mode", {"group", "isolated"});
    validate_schedule_value(f, s.schedule_type, s.schedule_value);
    out = std::move(s);
  } else if (type == "update_task") {
    UpdateTask u;
    u.task_id = f.req("taskId");
    u.prompt = f.opt("prompt");
    u.schedule_type = f.opt("schedule_type");
    u.schedule_value = f.opt("schedule_value");
    u.context_mode = f.opt("context_mode");
    f.id_like(u.task_id, "taskId");
    f.one_of(u.schedule_type, "schedule_type", {"cron", "interval", "once"});
    f.one_of(u.context_mode, "context_mode", {"group", "isolated"});
    if (u.schedule_type.has_value() != u.schedule_value.has_value())
      f.fail("schedule_type and schedule_value must be updated together");
    validate_schedule_value(f, u.schedule_type, u.schedule_value);
    if (!u.prompt && !u.schedule_type && !u.context_mode) f.fail("update_task changes nothing");
    out = std::move(u);
  } else if (type == "register_group") {
    RegisterGroup g;
    g.name = f.req("name");
    g.jid = f.req("jid");
    g.description = f.opt("description");
    f.id_like(g.name, "name");
    f.id_like(g.jid, "jid");
    if (g.description && g.description->size() > kMaxDescriptionBytes) f.fail("field 'description' is too long");
    out = std::move(g);
  } else {
    TaskControl c;
    c.op = type == "pause_task"    ? TaskControl::Op::pause
           : type == "resume_task" ? TaskControl::Op::resume
                                   : TaskControl::Op::cancel;
    c.task_id = f.req("taskId");
    f.id_like(c.task_id, "taskId");
    out = std::move(c);
  }
  if (f.err) return *f.err;
  return out;
}

// Minimal JSON object builder over RapidJSON's writer (escaping done by RapidJSON).
class Obj {
 public:
  Obj() { w_.StartObject(); }
  Obj& str(const char* k, std::string_view v) {
    w_.Key(k);
    w_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    return *this;
  }
  Obj& opt(const char* k, const std::optional<std::string>& v) {
    if (v) str(k, *v);
    return *this;
  }
  Obj& boolean(const char* k, bool v) {
    w_.Key(k);
    w_.Bool(v);
    return *this;
  }
  std::string done() {
    w_.EndObject();
    return std::string(buf_.GetString(), buf_.GetSize());
  }

 private:
  rapidjson::StringBuffer buf_;
  rapidjson::Writer<rapidjson::StringBuffer> w_{buf_};
};

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

std::string_view box_dir(Box box) {
  switch (box) {
    case Box::input: return kInputDir;
    case Box::messages: return kMessagesDir;
    case Box::tasks: return kTasksDir;
  }
  return kInputDir;
}

std::string make_name(uint64_t unix_ms, uint64_t seq) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%013llu-%09llu.json", static_cast<unsigned long long>(unix_ms),
                static_cast<unsigned long long>(seq));
  return buf;
}

std::string Namer::next(uint64_t now_unix_ms) {
  last_ms_ = std::max(last_ms_, now_unix_ms);
  return make_name(last_ms_, ++seq_);
}

bool is_payload_name(std::string_view name) {
  if (name.size() <= kPayloadSuffix.size() || name.front() == '.') return false;
  if (name.find('/') != std::string_view::npos) return false;
  return name.substr(name.size() - kPayloadSuffix.size()) == kPayloadSuffix;
}

std::string_view type_name(const Payload& p) {
  return std::visit(overloaded{
                        [](const InputMessage&) -> std::string_view { return "message"; },
                        [](const OutboundMessage&) -> std::string_view { return "message"; },
                        [](const TurnDone&) -> std::string_view { return "turn_done"; },
                        [](const ScheduleTask&) -> std::string_view { return "schedule_task"; },
                        [](const TaskControl& c) -> std::string_view {
                          switch (c.op) {
                            case TaskControl::Op::pause: return "pause_task";
                            case TaskControl::Op::resume: return "resume_task";
                            case TaskControl::Op::cancel: return "cancel_task";
                          }
                          return "cancel_task";
                        },
                        [](const UpdateTask&) -> std::string_view { return "update_task"; },
                        [](const RegisterGroup&) -> std::string_view { return "register_group"; },
                        [](const ToolRefused&) -> std::string_view { return "tool_refused"; },
                        [](const Progress&) -> std::string_view { return "progress"; },
                    },
                    p);
}

Box box_of(const Payload& p) {
  if (std::holds_alternative<InputMessage>(p)) return Box::input;
  if (std::holds_alternative<OutboundMessage>(p) || std::holds_alternative<TurnDone>(p) ||
      std::holds_alternative<ToolRefused>(p) || std::holds_alternative<Progress>(p))
    return Box::messages;
  return Box::tasks;
}

std::string encode(const Payload& p) {
  Obj o;
  o.str("type", type_name(p));
  std::visit(
      overloaded{
          [&](const InputMessage& m) { o.str("id", m.id).str("text", m.text).opt("chatJid", m.chat_jid); },
          [&](const OutboundMessage& m) {
            o.str("text", m.text).opt("inReplyTo", m.in_reply_to).opt("chatJid", m.chat_jid);
          },
          [&](const TurnDone& d) {
            o.str("inReplyTo", d.in_reply_to).str("status", d.ok ? "ok" : "error");
            if (!d.ok) o.str("error", d.error);
            if (!d.retry) o.boolean("retry", false);
          },
          [&](const ScheduleTask& s) {
            o.str("prompt", s.prompt)
                .str("schedule_type", s.schedule_type)
                .str("schedule_value", s.schedule_value)
                .str("context_mode", s.context_mode)
                .opt("targetJid", s.target_jid);
          },
          [&](const TaskControl& c) { o.str("taskId", c.task_id); },
          [&](const UpdateTask& u) {
            o.str("taskId", u.task_id)
                .opt("prompt", u.prompt)
                .opt("schedule_type", u.schedule_type)
                .opt("schedule_value", u.schedule_value)
                .opt("context_mode", u.context_mode);
          },
          [&](const RegisterGroup& g) { o.str("name", g.name).str("jid", g.jid).opt("description", g.description); },
          [&](const ToolRefused& r) { o.str("tool", r.tool).opt("inReplyTo", r.in_reply_to); },
          [&](const Progress& p) { o.str("text", p.text).opt("inReplyTo", p.in_reply_to); },
      },
      p);
  return o.done();
}

Result<Payload> decode(Box box, std::string_view bytes, std::size_t max_bytes) {
  if (bytes.size() > max_bytes)
    return bad("ipc.oversized",
               "payload of " + std::to_string(bytes.size()) + " bytes exceeds " + std::to_string(max_bytes));
  rapidjson::Document doc;
  // Validate UTF-8 so nothing downstream (chat APIs, logs) sees invalid text.
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(bytes.data(), bytes.size());
  if (doc.HasParseError())
    return bad("ipc.malformed", std::string("invalid JSON at offset ") + std::to_string(doc.GetErrorOffset()) + ": " +
                                    rapidjson::GetParseError_En(doc.GetParseError()));
  if (!doc.IsObject()) return bad("ipc.malformed", "payload must be a JSON object");
  return decode_object(box, doc);
}

std::string_view reason_label(const Error& e) {
  std::string_view c = e.code;
  if (c.rfind("ipc.", 0) == 0) {
    c.remove_prefix(4);
    for (std::string_view known :
         {"oversized", "malformed", "unknown_type", "wrong_directory", "invalid_field", "read_error"})
      if (c == known) return known;
  }
  return "other";
}

}  // namespace sb::ipc
