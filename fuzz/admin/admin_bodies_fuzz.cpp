// The admin API's JSON request bodies, decoded by the same pure functions the routes
// (actors/app/admin/*_routes.cpp) call: namespaces (POST/PATCH, containerConfig, chat
// mappings, sender allowlists, routing policy), tasks (POST/PATCH), the local chat
// message, vault secrets and the outbox. The admin API sits behind a bearer token, but a
// body is still bytes from a client. Properties: a stored containerConfig or sender list
// written by the product reads back the same.
// Byte 0 picks the decoder; the rest is the body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "channels/delivery/enqueue_request.hpp"
#include "channels/local/chat_request.hpp"
#include "runtime/namespaces/namespace.hpp"
#include "runtime/schedule/task_model.hpp"
#include "runtime/security/vault/secret_body.hpp"

namespace {

using namespace sb;

bool same(const namespaces::ContainerConfig& a, const namespaces::ContainerConfig& b) {
  if (a.image != b.image || a.timeout_secs != b.timeout_secs || a.idle_timeout_secs != b.idle_timeout_secs ||
      a.env != b.env || a.mounts.size() != b.mounts.size())
    return false;
  for (std::size_t i = 0; i < a.mounts.size(); ++i) {
    const auto &x = a.mounts[i], &y = b.mounts[i];
    if (x.host_path != y.host_path || x.container_path != y.container_path || x.readonly != y.readonly) return false;
  }
  return true;
}

void container_config_round_trip(const namespaces::ContainerConfig& c) {
  auto back = namespaces::parse_container_config(namespaces::container_config_json(c));
  if (!back || !same(*back, c)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 12) {
    case 0:
    case 1:
      if (auto p = namespaces::parse_namespace_patch(body, data[0] % 12 == 0); p && p->container)
        container_config_round_trip(*p->container);
      break;
    case 2:
      if (auto c = namespaces::parse_container_config(body)) container_config_round_trip(*c);
      break;
    case 3: (void)namespaces::parse_mapping_request(body); break;
    case 4:
      if (auto a = namespaces::parse_allowlist(body); a && !a->everyone) {
        auto back = namespaces::parse_senders_json(namespaces::senders_json(a->senders));
        if (!back || *back != a->senders) std::abort();
      }
      break;
    case 5:
      if (auto s = namespaces::parse_senders_json(body)) {
        auto back = namespaces::parse_senders_json(namespaces::senders_json(*s));
        if (!back || *back != *s) std::abort();
      }
      break;
    case 6: (void)namespaces::parse_routing_request(body); break;
    case 7:
    case 8:
      if (auto t = schedule::parse_task_patch(body, data[0] % 12 == 7); t && t->schedule) {
        // The store compiles the schedule in the task's zone once it knows it.
        auto tz = schedule::resolve_time_zone(t->time_zone.value_or("UTC"));
        if (tz) (void)schedule::compile_task_schedule(*t->schedule, *tz);
      }
      break;
    case 9:
      if (auto c = channels::local::parse_chat_request(body);
          c && (c->text.empty() || c->text.size() > channels::local::kMaxChatTextBytes))
        std::abort();
      break;
    case 10:
      if (auto s = security::vault::parse_secret_body(body); s && s->empty()) std::abort();
      break;
    case 11:
      if (auto m = channels::delivery::parse_enqueue_request(body);
          m && (m->bot_id.empty() || m->chat_jid.empty() || m->text.empty()))
        std::abort();
      break;
  }
  return 0;
}
