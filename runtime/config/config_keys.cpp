#include "runtime/config/config_keys.hpp"

#include <fmt/format.h>

// The flat keys: section, name, bounds, default and documentation, in one table.
namespace sb::config {
namespace detail {
namespace {

template <class M>
KeyDef int_key(std::string s, std::string k, M member_path, int64_t min, int64_t max, std::string doc) {
  KeyDef d;
  d.info = {s, k, Kind::integer, "", std::move(doc), {}};
  d.min = min;
  d.max = max;
  d.set = [member_path](Config& c, const Value& v) { member_path(c) = std::get<int64_t>(v); };
  d.get = [member_path](const Config& c) { return Value{member_path(c)}; };
  d.info.default_text = std::to_string(std::get<int64_t>(d.get(Config{})));
  return d;
}

template <class M>
KeyDef bool_key(std::string s, std::string k, M member_path, std::string doc) {
  KeyDef d;
  d.info = {s, k, Kind::boolean, "", std::move(doc), {}};
  d.set = [member_path](Config& c, const Value& v) { member_path(c) = std::get<bool>(v); };
  d.get = [member_path](const Config& c) { return Value{member_path(c)}; };
  d.info.default_text = std::get<bool>(d.get(Config{})) ? "true" : "false";
  return d;
}

template <class M>
KeyDef str_key(std::string s, std::string k, M member_path, std::vector<std::string> choices, std::string doc) {
  KeyDef d;
  d.info = {s, k, Kind::string, "", std::move(doc), choices};
  d.choices = std::move(choices);
  d.set = [member_path](Config& c, const Value& v) { member_path(c) = std::get<std::string>(v); };
  d.get = [member_path](const Config& c) { return Value{member_path(c)}; };
  d.info.default_text = "\"" + std::get<std::string>(d.get(Config{})) + "\"";
  return d;
}

}  // namespace

// Generic so one accessor serves both the setter (Config&) and the getter (const Config&).
#define SB_FIELD(path)   \
  [](auto& c) -> auto& { \
    return c.path;       \
  }

const std::vector<KeyDef>& defs() {
  static const std::vector<KeyDef> table = {
      str_key("node", "data_dir", SB_FIELD(node.data_dir), {},
              "Directory for the database, the admin token and session data. "
              "`serve --data-dir` and `SQUADBOX_DATA_DIR` take precedence."),
      int_key("node", "shutdown_timeout_ms", SB_FIELD(node.shutdown_timeout_ms), 100, 600000,
              "On SIGTERM/SIGINT: how long in-flight work may take to finish before the "
              "process gives up waiting and exits."),
      str_key("admin", "address", SB_FIELD(admin.address), {},
              "Address of the admin HTTP listener (loopback by default; the admin API "
              "needs the bearer token either way)."),
      int_key("admin", "port", SB_FIELD(admin.port), 0, 65535,
              "Port of the admin HTTP listener; 0 picks a free port (written to "
              "DATA_DIR/admin.url)."),
      int_key("admin", "body_limit_bytes", SB_FIELD(admin.body_limit_bytes), 1024, 1 << 30,
              "Largest accepted request body; larger requests get 413."),
      int_key("admin", "request_timeout_ms", SB_FIELD(admin.request_timeout_ms), 100, 600000,
              "A request must arrive completely within this time, else 408 and close."),
      int_key("admin", "idle_timeout_ms", SB_FIELD(admin.idle_timeout_ms), 100, 3600000,
              "Idle keep-alive connections are closed after this time."),
      int_key("admin", "threads", SB_FIELD(admin.threads), 1, 64, "I/O threads of the admin listener."),
      str_key("admin", "token_file", SB_FIELD(admin.token_file), {},
              "Bearer token file for /api/*; empty means DATA_DIR/admin.token (created "
              "at first start, mode 0600)."),
      str_key("admin", "allowed_hosts", SB_FIELD(admin.allowed_hosts), {},
              "Comma-separated Host names the admin listener serves besides loopback literals, "
              "localhost and admin.address (e.g. a reverse proxy's name); others get 403 (DNS rebinding)."),
      str_key("log", "level", SB_FIELD(log.level), {"debug", "info", "warn", "error", "off"}, "Lowest level written."),
      str_key("log", "format", SB_FIELD(log.format), {"logfmt", "json"},
              "One event per line, as logfmt or as a JSON object."),
      str_key("storage", "backend", SB_FIELD(storage.backend), {"sqlite", "postgres"},
              "Storage engine: `sqlite` (one node, a file in the data directory) or `postgres` "
              "(a server several nodes share; docs/storage-postgres.md)."),
      str_key("storage", "path", SB_FIELD(storage.path), {}, "SQLite database file; empty means DATA_DIR/squadbox.db."),
      str_key("storage", "postgres_url", SB_FIELD(storage.postgres_url), {},
              "backend = postgres: a libpq connection string without a password, e.g. "
              "`host=db.internal port=5432 dbname=squadbox user=squadbox sslmode=verify-full`."),
      str_key("storage", "postgres_password_file", SB_FIELD(storage.postgres_password_file), {},
              "backend = postgres: a file holding the password (mode 0600 required); empty means "
              "libpq's own mechanisms (PGPASSFILE, PGPASSWORD, peer authentication)."),
      str_key("storage", "postgres_schema", SB_FIELD(storage.postgres_schema), {},
              "backend = postgres: the schema squadbox's tables live in (created if missing)."),
      int_key("storage", "busy_timeout_ms", SB_FIELD(storage.busy_timeout_ms), 0, 600000,
              "How long a connection waits for a lock before failing with busy."),
      str_key("storage", "synchronous", SB_FIELD(storage.synchronous), {"full", "normal"},
              "SQLite synchronous mode. `full`: an acknowledged write survives power "
              "loss. `normal`: survives a process crash, not power loss."),
      int_key("storage", "commit_window_us", SB_FIELD(storage.commit_window_us), 0, 1000000,
              "Group commit: writes arriving within this window after the first pending "
              "one share one transaction. 0 commits what is queued at once."),
      int_key("storage", "max_batch", SB_FIELD(storage.max_batch), 1, 100000,
              "Group commit: a batch is committed as soon as it holds this many writes."),
      int_key("supervisor", "backoff_base_ms", SB_FIELD(supervisor.backoff_base_ms), 1, 3600000,
              "First restart delay of a crashed actor; doubles on each further crash "
              "(with jitter)."),
      int_key("supervisor", "backoff_max_ms", SB_FIELD(supervisor.backoff_max_ms), 1, 3600000,
              "Upper bound of the restart delay."),
      int_key("supervisor", "restart_budget", SB_FIELD(supervisor.restart_budget), 0, 1000,
              "Restarts allowed within restart_window_ms; one more crash and the child is "
              "given up and reported."),
      int_key("supervisor", "restart_window_ms", SB_FIELD(supervisor.restart_window_ms), 1, 86400000,
              "Sliding window for restart_budget."),
      int_key("actors", "threads", SB_FIELD(actors.threads), 0, 256,
              "Worker threads of the actor scheduler; 0 = CAF's default (max(4, cores))."),
      int_key("actors", "request_timeout_ms", SB_FIELD(actors.request_timeout_ms), 10, 600000,
              "Timeout of requests from the admin API to actors (then 503)."),
      str_key("container", "runtime", SB_FIELD(container.runtime), {"auto", "oci", "docker", "apple"},
              "Container backend. `auto`: oci if crun or runc is installed, else docker if its "
              "socket answers, else apple on macOS."),
      str_key("container", "oci_runtime", SB_FIELD(container.oci_runtime), {"crun", "runc"},
              "OCI runtime binary of the oci backend."),
      str_key("container", "docker_socket", SB_FIELD(container.docker_socket), {},
              "Unix socket of the Docker Engine API (docker backend; Podman's works too)."),
      str_key("container", "apple_binary", SB_FIELD(container.apple_binary), {},
              "Apple Container's `container` CLI (apple backend)."),
      str_key("container", "image", SB_FIELD(container.image), {},
              "Default agent image (`squadbox image build` makes it for the oci backend)."),
      int_key("container", "timeout_ms", SB_FIELD(container.timeout_ms), 0, 86400000,
              "Hard timeout of a container run; 0 = none. Then SIGTERM, SIGKILL after the grace."),
      int_key("container", "idle_timeout_ms", SB_FIELD(container.idle_timeout_ms), 0, 86400000,
              "A squad container with no output for this long is stopped; 0 = never. "
              "(cowork: none unless --idle-timeout.)"),
      int_key("container", "stop_grace_ms", SB_FIELD(container.stop_grace_ms), 0, 600000,
              "Time between SIGTERM and SIGKILL when a container is stopped."),
      int_key("container", "memory_mb", SB_FIELD(container.memory_mb), 0, 1048576,
              "Memory limit per container (no swap beyond it); 0 = unlimited."),
      int_key("container", "pids", SB_FIELD(container.pids), 0, 1000000, "Process limit per container; 0 = unlimited."),
      int_key("container", "cpu_millis", SB_FIELD(container.cpu_millis), 0, 1024000,
              "CPU limit per container in thousandths of a CPU; 0 = unlimited."),
      str_key("container", "agent_mode", SB_FIELD(container.agent_mode), {"echo", "exec", "llm"},
              "What the default agent does with a message: echo it, run agent_command, or "
              "hold an Anthropic Messages conversation through the credential proxy."),
      str_key("container", "agent_command", SB_FIELD(container.agent_command), {},
              "For agent_mode = exec: a JSON array argv run per message (message JSON on "
              "stdin, stdout is the reply)."),
      str_key("container", "llm_route", SB_FIELD(container.llm_route), {},
              "For agent_mode = llm: the proxy route (a [proxy.routes.NAME]) the agent calls."),
      str_key("container", "llm_model", SB_FIELD(container.llm_model), {},
              "For agent_mode = llm: the model name sent in each Messages request."),
      int_key("container", "llm_max_tokens", SB_FIELD(container.llm_max_tokens), 1, 1000000,
              "For agent_mode = llm: max_tokens of each Messages request."),
      str_key("container", "llm_protocol", SB_FIELD(container.llm_protocol), {"anthropic", "openai"},
              "For agent_mode = llm: the API the route speaks (Anthropic Messages or OpenAI chat "
              "completions)."),
      int_key("container", "llm_max_steps", SB_FIELD(container.llm_max_steps), 1, 200,
              "For agent_mode = llm: model calls per turn at most (each tool round is one)."),
      str_key("container", "agent_tools", SB_FIELD(container.agent_tools), {},
              "Tools the agent may use: `all`, `none`, or a comma list of bash, read_file, write_file, "
              "edit_file, list_files, send_message, schedule_task, list_tasks, pause_task, "
              "resume_task, cancel_task. Namespaces may choose their own (docs/namespaces.md)."),
      str_key("container", "env_passthrough", SB_FIELD(container.env_passthrough), {},
              "Comma-separated host variables allowed into containers (nothing else of the "
              "host environment ever enters)."),
      str_key("container", "install_id", SB_FIELD(container.install_id), {},
              "Label that marks this install's containers; empty = generated once into "
              "DATA_DIR/install.id. Two installs on one host must differ."),
      int_key("container", "run_dir_retention_ms", SB_FIELD(container.run_dir_retention_ms), 0, 86400000 * 30LL,
              "DATA_DIR/runs/<run> (IPC files, rejected payloads) is removed this long after its "
              "run ends; 0 = at once."),
      str_key("container", "user", SB_FIELD(container.user), {"namespace", "workspace_owner"},
              "Who containers run as. `namespace`: nobody inside a user namespace of the "
              "namespace's own host id range (a workspace owned by someone else is idmapped to "
              "them). `workspace_owner`: as the workspace directory's owner, on the host, without "
              "a user namespace (an operator's login uid gets its keyrings: docs/security.md)."),
      int_key("container", "userns_base", SB_FIELD(container.userns_base), 65536, 4294901759,
              "First host id of the namespaces' id ranges: namespace slot N gets host ids "
              "userns_base + N * userns_size onwards. Keep it above every login uid."),
      int_key("container", "userns_size", SB_FIELD(container.userns_size), 65536, 1073741824,
              "Host ids per namespace (the container's ids 0..userns_size-1)."),
      str_key("security", "allowlist_file", SB_FIELD(security.allowlist_file), {},
              "Mount allowlist (JSON; `~` is $HOME). Missing or invalid: every extra mount is "
              "denied. Reloaded when it changes. Never mountable itself."),
      str_key("security", "vault_key_file", SB_FIELD(security.vault_key_file), {},
              "Master key of the secret vault (0600, created at first start); empty means "
              "DATA_DIR/vault.key. `SQUADBOX_VAULT_KEY` (64 hex digits) takes precedence."),
      int_key("security", "audit_interval_ms", SB_FIELD(security.audit_interval_ms), 0, 86400000,
              "Period of the security audit of running containers; 0 = off."),
      int_key("proxy", "container_port", SB_FIELD(proxy.container_port), 1, 65535,
              "Port of the credential proxy inside each container (127.0.0.1:PORT)."),
      str_key("proxy", "ca_file", SB_FIELD(proxy.ca_file), {},
              "Extra CA bundle (PEM) trusted for upstream TLS; empty = the system CAs only."),
      int_key("proxy", "connect_timeout_ms", SB_FIELD(proxy.connect_timeout_ms), 100, 600000,
              "Connecting to an upstream (TCP + TLS) must finish within this time, else 502."),
      int_key("proxy", "request_timeout_ms", SB_FIELD(proxy.request_timeout_ms), 1000, 86400000,
              "A whole proxied exchange, streamed response included, must finish within this time."),
      int_key("proxy", "max_request_bytes", SB_FIELD(proxy.max_request_bytes), 1024, 1 << 30,
              "Largest request body a container may send through the proxy (then 413)."),
      int_key("proxy", "max_connections_per_lease", SB_FIELD(proxy.max_connections_per_lease), 1, 100000,
              "Open connections one container may hold on its proxy socket; more are closed at once."),
      int_key("proxy", "max_connections", SB_FIELD(proxy.max_connections), 1, 1000000,
              "Open proxy connections of all containers together; more are closed at once."),
      int_key("proxy", "max_buffered_bytes_per_lease", SB_FIELD(proxy.max_buffered_bytes_per_lease), 1024,
              int64_t{1} << 34,
              "Request body bytes one container may have buffered in the broker at once (declared "
              "lengths count in full); a request beyond it gets 429."),
      int_key("proxy", "body_timeout_ms", SB_FIELD(proxy.body_timeout_ms), 100, 3600000,
              "A request body must arrive whole within this after its head, else the connection is "
              "closed (the response deadline is request_timeout_ms)."),
      int_key("proxy", "denial_audit_interval_ms", SB_FIELD(proxy.denial_audit_interval_ms), 10, 86400000,
              "Proxy refusals (401/403/404/413/429) are audited once per namespace, reason and "
              "route in this interval; the rest are counted into one summary record."),
      str_key("webhooks", "address", SB_FIELD(webhooks.address), {},
              "Address of the public webhook listener (started when a bot takes webhooks)."),
      int_key("webhooks", "port", SB_FIELD(webhooks.port), 0, 65535,
              "Port of the webhook listener; 0 = any free port (written to DATA_DIR/webhooks.url)."),
      str_key("webhooks", "tls_cert_file", SB_FIELD(webhooks.tls_cert_file), {},
              "PEM certificate chain; with tls_key_file the listener speaks HTTPS."),
      str_key("webhooks", "tls_key_file", SB_FIELD(webhooks.tls_key_file), {}, "PEM private key of tls_cert_file."),
      int_key("webhooks", "body_limit_bytes", SB_FIELD(webhooks.body_limit_bytes), 1024, 64 << 20,
              "Largest webhook body (then 413)."),
      int_key("webhooks", "request_timeout_ms", SB_FIELD(webhooks.request_timeout_ms), 100, 600000,
              "A request must arrive whole within this, else 408 and the connection is closed."),
      int_key("webhooks", "idle_timeout_ms", SB_FIELD(webhooks.idle_timeout_ms), 100, 3600000,
              "An idle keep-alive connection is closed after this."),
      int_key("webhooks", "threads", SB_FIELD(webhooks.threads), 1, 64, "I/O threads of the webhook listener."),
      int_key("webhooks", "max_connections", SB_FIELD(webhooks.max_connections), 1, 1000000,
              "Open connections beyond this get 503 (clamped at start below the process's "
              "file descriptor limit, keeping a reserve for storage, containers and the platforms)."),
      int_key("webhooks", "max_connections_per_remote", SB_FIELD(webhooks.max_connections_per_remote), 1, 1000000,
              "Open connections one remote address may hold; more are closed at once."),
      int_key("webhooks", "max_in_flight", SB_FIELD(webhooks.max_in_flight), 1, 1000000,
              "Deliveries waiting for their durable ack at once; beyond it 503 at once (the "
              "platform retries) instead of queueing in memory."),
      int_key("webhooks", "reject_audit_interval_ms", SB_FIELD(webhooks.reject_audit_interval_ms), 10, 86400000,
              "Rejected requests are audited once per bot, reason and remote address in this "
              "interval; the rest are counted into one summary record."),
      int_key("webhooks", "ack_timeout_ms", SB_FIELD(webhooks.ack_timeout_ms), 10, 2900,
              "A message not durably stored within this is answered 503 so that the platform "
              "retries (platforms give up after 3 s)."),
      int_key("outbound", "request_timeout_ms", SB_FIELD(outbound.request_timeout_ms), 100, 600000,
              "One request to a platform's API, connect to last byte."),
      str_key("outbound", "ca_file", SB_FIELD(outbound.ca_file), {},
              "Extra CA bundle (PEM) trusted for the platforms' APIs; empty = the system CAs."),
      int_key("outbound", "max_attempts", SB_FIELD(outbound.max_attempts), 1, 1000,
              "Delivery attempts of one outbox message (rate-limit waits excluded) before it is "
              "marked failed."),
      int_key("outbound", "backoff_base_ms", SB_FIELD(outbound.backoff_base_ms), 1, 3600000,
              "First retry delay after a 5xx or network error; doubles per attempt (with jitter)."),
      int_key("outbound", "backoff_max_ms", SB_FIELD(outbound.backoff_max_ms), 1, 86400000,
              "Upper bound of the retry delay."),
      str_key("namespaces", "assistant_name", SB_FIELD(namespaces.assistant_name), {},
              "The agent's name: a namespace's default trigger is `@` + this."),
      int_key("namespaces", "max_concurrent_containers", SB_FIELD(namespaces.max_concurrent_containers), 1, 1000,
              "Namespaces running a container at once (fair FIFO beyond it)."),
      int_key("namespaces", "max_batch_messages", SB_FIELD(namespaces.max_batch_messages), 1, 1000,
              "Messages of one chat that arrived while the agent was busy go into its next turn, up "
              "to this many."),
      int_key("namespaces", "start_retry_ms", SB_FIELD(namespaces.start_retry_ms), 10, 3600000,
              "A namespace whose container could not start (or died) tries again after this."),
      int_key("namespaces", "chat_reply_timeout_ms", SB_FIELD(namespaces.chat_reply_timeout_ms), 100, 3600000,
              "How long `POST /api/v1/chat/{namespace}` (and `squadbox chat`) waits for the reply."),
      str_key("scheduler", "time_zone", SB_FIELD(scheduler.time_zone), {},
              "IANA time zone of scheduled tasks that name none (`serve` refuses an unknown zone)."),
      bool_key("cluster", "enabled", SB_FIELD(cluster.enabled),
               "Run as one node of a cluster on a shared PostgreSQL (requires storage.backend = "
               "\"postgres\" and the three tls_* files; docs/cluster.md)."),
      str_key("cluster", "node_name", SB_FIELD(cluster.node_name), {},
              "This node's stable member name (a-z, 0-9 and '-'; at most 63; as in its certificate), unique in the "
              "cluster."),
      str_key("cluster", "listen", SB_FIELD(cluster.listen), {},
              "host:port of the node-to-node listener (CAF over mutual TLS only)."),
      str_key("cluster", "advertise", SB_FIELD(cluster.advertise), {},
              "host:port the other nodes connect to; empty means `listen`."),
      str_key("cluster", "tls_cert_file", SB_FIELD(cluster.tls_cert_file), {},
              "This node's certificate (PEM), signed by the cluster CA (`squadbox cluster cert issue`)."),
      str_key("cluster", "tls_key_file", SB_FIELD(cluster.tls_key_file), {},
              "The certificate's private key (PEM, mode 0600)."),
      str_key("cluster", "tls_ca_file", SB_FIELD(cluster.tls_ca_file), {},
              "The cluster CA (PEM); a peer without a certificate it signed is refused."),
      int_key("cluster", "lease_ttl_ms", SB_FIELD(cluster.lease_ttl_ms), 1000, 600000,
              "Lifetime of membership and ownership leases; a node that cannot renew within half of "
              "it stops serving its namespaces and bots by itself."),
      int_key("cluster", "capacity", SB_FIELD(cluster.capacity), 1, 1000,
              "This node's weight when namespaces are spread over the members (rendezvous hashing)."),
      int_key("cluster", "heartbeat_interval_ms", SB_FIELD(cluster.heartbeat_interval_ms), 100, 60000,
              "Node-to-node heartbeat interval; must be the same on every node (a node whose setting "
              "differs from the members' is refused)."),
      int_key("cluster", "connection_timeout_ms", SB_FIELD(cluster.connection_timeout_ms), 300, 600000,
              "A peer silent for this long is disconnected; at least 3x heartbeat_interval_ms, same on every node."),
      int_key("cluster", "forward_timeout_ms", SB_FIELD(cluster.forward_timeout_ms), 100, 60000,
              "Every request to another node ends after this (a lost forward is recovered from the database)."),
      str_key("cluster", "shared_dir", SB_FIELD(cluster.shared_dir), {},
              "A directory every node mounts (e.g. NFS) for agent state that must follow a namespace; "
              "empty means the database only."),
  };
  return table;
}

#undef SB_FIELD

std::string kind_name(Kind k) {
  switch (k) {
    case Kind::string: return "string";
    case Kind::integer: return "integer";
    case Kind::boolean: return "boolean";
  }
  return "value";
}

Error invalid(std::string message) {
  return make_error("config.invalid", std::move(message));
}

Status validate(const KeyDef& d, const Value& v, const std::string& origin) {
  if (d.info.kind == Kind::integer) {
    int64_t i = std::get<int64_t>(v);
    if (i < d.min || i > d.max)
      return invalid(fmt::format("{}: {} is out of range {}..{} ({})", d.info.dotted(), i, d.min, d.max, origin));
  } else if (d.info.kind == Kind::string && !d.choices.empty()) {
    const auto& s = std::get<std::string>(v);
    bool found = false;
    for (const auto& c : d.choices) found = found || c == s;
    if (!found) {
      std::string list;
      for (const auto& c : d.choices) list += (list.empty() ? "" : ", ") + c;
      return invalid(fmt::format("{}: \"{}\" is not one of {} ({})", d.info.dotted(), s, list, origin));
    }
  }
  return {};
}

const KeyDef* find(std::string_view section, std::string_view key) {
  for (const auto& d : defs())
    if (d.info.section == section && d.info.key == key) return &d;
  return nullptr;
}

bool known_section(std::string_view section) {
  for (const auto& d : defs())
    if (d.info.section == section) return true;
  return false;
}

}  // namespace detail

using detail::defs;
using detail::kind_name;

std::string KeyInfo::env_name() const {
  std::string out = "SQUADBOX_";
  for (char c : section + "_" + key) out.push_back(static_cast<char>(std::toupper(c)));
  return out;
}

const std::vector<KeyInfo>& keys() {
  static const std::vector<KeyInfo> list = [] {
    std::vector<KeyInfo> out;
    for (const auto& d : defs()) out.push_back(d.info);
    return out;
  }();
  return list;
}

bool route_name_ok(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_alnum(name[0])) return false;
  for (char c : name)
    if (!(lower_alnum(c) || c == '_' || c == '-')) return false;
  return true;
}

std::string markdown_table() {
  std::string out =
      "| key | type | default | environment variable | meaning |\n"
      "|---|---|---|---|---|\n";
  for (const auto& k : keys())
    out += fmt::format("| `{}` | {} | `{}` | `{}` | {} |\n", k.dotted(), kind_name(k.kind), k.default_text,
                       k.env_name(), k.description);
  return out;
}

}  // namespace sb::config
