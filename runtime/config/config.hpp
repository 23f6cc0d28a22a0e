#pragma once
// The node's configuration: built-in defaults < TOML file < SQUADBOX_<SECTION>_<KEY>
// environment variables. Every key is described once, in the key table of
// config_keys.cpp; docs/configuration.md lists them all (a test checks it does).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::config {

struct NodeConfig {
  std::string data_dir = "./data";
  int64_t shutdown_timeout_ms = 10000;
};

struct AdminConfig {
  std::string address = "127.0.0.1";
  int64_t port = 55765;
  int64_t body_limit_bytes = 1 << 20;
  int64_t request_timeout_ms = 10000;
  int64_t idle_timeout_ms = 60000;
  int64_t threads = 1;
  std::string token_file;     // empty: DATA_DIR/admin.token
  std::string allowed_hosts;  // comma-separated Host names served besides loopback/localhost
};

struct LogConfig {
  std::string level = "info";
  std::string format = "logfmt";
};

struct StorageConfig {
  std::string backend = "sqlite";  // "sqlite" | "postgres" (docs/storage-postgres.md)
  std::string path;                // empty: DATA_DIR/squadbox.db
  int64_t busy_timeout_ms = 5000;
  std::string synchronous = "full";
  int64_t commit_window_us = 0;  // 0: what queued during the last fsync is the next batch
  int64_t max_batch = 1024;
  // backend = "postgres": a libpq connection string without a password ("host=... dbname=...");
  // the password comes from libpq's own mechanisms (PGPASSFILE, PGPASSWORD, peer auth) or
  // from postgres_password_file (mode 0600).
  std::string postgres_url;
  std::string postgres_password_file;
  std::string postgres_schema = "squadbox";  // several nodes' tests can share one server
};

struct SupervisorConfig {
  int64_t backoff_base_ms = 200;
  int64_t backoff_max_ms = 30000;
  int64_t restart_budget = 5;
  int64_t restart_window_ms = 60000;
};

struct ActorsConfig {
  int64_t threads = 2;
  int64_t request_timeout_ms = 5000;
};

struct ContainerConfig {
  std::string runtime = "auto";  // auto | oci | docker | apple
  std::string oci_runtime = "crun";
  std::string docker_socket = "/var/run/docker.sock";
  std::string apple_binary = "container";
  std::string image = "squadbox-agent:latest";
  int64_t timeout_ms = 30 * 60 * 1000;
  int64_t idle_timeout_ms = 30 * 60 * 1000;
  int64_t stop_grace_ms = 1000;
  int64_t memory_mb = 512;
  int64_t pids = 256;
  int64_t cpu_millis = 1000;
  std::string agent_mode = "echo";
  std::string agent_command;            // JSON array, for agent_mode = "exec"
  std::string llm_route = "anthropic";  // agent_mode = "llm": proxy route it talks to
  std::string llm_model = "claude-sonnet-4-5";
  int64_t llm_max_tokens = 1024;
  std::string llm_protocol = "anthropic";  // anthropic | openai: the route's API
  int64_t llm_max_steps = 20;              // model calls (tool rounds) per turn
  std::string agent_tools = "all";         // "all" or a comma list of tool names
  std::string env_passthrough;             // comma-separated host variable names
  std::string install_id;                  // empty: generated into DATA_DIR/install.id
  int64_t run_dir_retention_ms = 0;        // DATA_DIR/runs/<run> removed this long after its run ends
  // Who containers run as (runtime/container/run_identity.hpp): "namespace" (each
  // namespace's own host id range) or "workspace_owner" (the old rule, explicit).
  std::string user = "namespace";
  int64_t userns_base = 200000;  // host id of slot 0's container uid 0
  int64_t userns_size = 65536;   // ids per namespace
};

struct SecurityConfig {
  // Mount allowlist (layer 2); must lie outside every mountable tree.
  std::string allowlist_file = "~/.config/squadbox/mount-allowlist.json";
  std::string vault_key_file;         // empty: DATA_DIR/vault.key (0600, made at first start)
  int64_t audit_interval_ms = 60000;  // periodic audit of running containers; 0 = off
};

// One upstream the credential proxy may forward to: `[proxy.routes.NAME]`.
struct ProxyRoute {
  std::string upstream;                 // "https://api.anthropic.com" (http:// only for tests)
  std::string header = "x-api-key";     // header the real credential goes into
  std::string scheme;                   // "" = raw value; "Bearer" = "Bearer <secret>"
  std::string secret;                   // vault entry name
  std::vector<std::string> namespaces;  // allowed namespaces; empty = every namespace
};

struct ProxyConfig {
  int64_t container_port = 3001;  // 127.0.0.1:PORT inside the container
  std::string ca_file;            // extra CA bundle for upstream TLS; empty = system CAs
  int64_t connect_timeout_ms = 10000;
  int64_t request_timeout_ms = 600000;  // whole exchange incl. a streamed response
  int64_t max_request_bytes = 32 << 20;
  // Limits a hostile container meets (docs/credential-proxy.md, "Limits").
  int64_t max_connections_per_lease = 16;
  int64_t max_connections = 512;                    // all leases together
  int64_t max_buffered_bytes_per_lease = 64 << 20;  // request bodies held at once per lease
  int64_t body_timeout_ms = 30000;                  // a request body must arrive within this
  int64_t denial_audit_interval_ms = 60000;         // refusals audited once per key and interval
  std::map<std::string, ProxyRoute> routes;         // by route name (the first path segment)
};

// The public webhook listener (separate from the admin API). It starts when at least
// one enabled bot receives webhooks.
struct WebhooksConfig {
  std::string address = "0.0.0.0";
  int64_t port = 8080;
  std::string tls_cert_file;  // both set: HTTPS; both empty: plain HTTP (behind a TLS proxy)
  std::string tls_key_file;
  int64_t body_limit_bytes = 1 << 20;
  int64_t request_timeout_ms = 5000;  // slow or stalled clients are cut off after this
  int64_t idle_timeout_ms = 5000;     // short: platforms reconnect cheaply, idle sockets cost fds
  int64_t threads = 2;
  int64_t max_connections = 4096;            // clamped below RLIMIT_NOFILE at start (minus a reserve)
  int64_t max_connections_per_remote = 256;  // one address cannot take every slot
  int64_t ack_timeout_ms = 2500;             // not durably stored by then: 503, the platform retries
  int64_t max_in_flight = 1000;              // deliveries awaiting their durable ack; beyond: 503 at once
  int64_t reject_audit_interval_ms = 60000;  // rejects audited once per bot/reason/remote and interval
};

// Delivery of replies from the outbox by the per-bot senders.
struct OutboundConfig {
  int64_t request_timeout_ms = 10000;
  std::string ca_file;        // extra CA bundle (PEM) for the platforms' APIs; empty = system CAs
  int64_t max_attempts = 10;  // then the message is marked failed
  int64_t backoff_base_ms = 1000;
  int64_t backoff_max_ms = 300000;
};

// One channel bot: `[channels.PLATFORM.NAME]`. Keys whose value is a credential hold the
// name of a vault entry (`squadbox secret set NAME`), never the credential itself.
// Squad groups: routing defaults and the turn queue (issue 6).
struct NamespacesConfig {
  std::string assistant_name = "Andy";  // the default trigger is "@<assistant_name>"
  int64_t max_concurrent_containers = 5;
  int64_t max_batch_messages = 20;
  int64_t start_retry_ms = 2000;           // a container that could not start is tried again after this
  int64_t chat_reply_timeout_ms = 120000;  // POST /api/v1/chat/{namespace} waits this long
};

// Scheduled container tasks (issue 7).
struct SchedulerConfig {
  std::string time_zone = "UTC";  // IANA zone of tasks that name none
};

// Several nodes on one PostgreSQL (docs/cluster.md). Disabled: a single node.
struct ClusterConfig {
  bool enabled = false;
  std::string node_name;      // stable member name, ^[a-z0-9][a-z0-9_.-]{0,62}$
  std::string listen;         // host:port of the node-to-node (CAF, mutual TLS) listener
  std::string advertise;      // host:port the others connect to; "" = listen
  std::string tls_cert_file;  // this node's certificate (PEM), signed by the cluster CA
  std::string tls_key_file;   // its private key (PEM, mode 0600)
  std::string tls_ca_file;    // the cluster CA (PEM): peers must present a certificate it signed
  int64_t lease_ttl_ms = 10000;
  int64_t capacity = 1;                  // rendezvous weight of this node
  int64_t heartbeat_interval_ms = 1000;  // CAF middleman heartbeat: identical on every node
  int64_t connection_timeout_ms = 4000;  // CAF drops a silent peer after this
  int64_t forward_timeout_ms = 2000;     // every cross-node request ends after this
  std::string shared_dir;                // agent state shared by the nodes ("" = in the database only)
};

// How a bot receives: the platform calls us (webhook), or we connect out, for hosts
// without a public URL: Telegram long polling, the Discord Gateway, Slack Socket Mode.
enum class BotMode { webhook, polling, gateway, socket };
std::string_view to_string(BotMode mode);
// "webhook" | "polling" | "gateway" | "socket"; nullopt otherwise.
std::optional<BotMode> parse_bot_mode(std::string_view text);
// The platform that has the mode: polling telegram, gateway discord, socket slack.
std::string_view bot_mode_platform(BotMode mode);

struct ChannelBotConfig {
  std::string platform;  // slack | discord | whatsapp | telegram
  std::string name;      // ^[a-z0-9][a-z0-9_-]{0,63}$
  bool enabled = true;
  std::string api_base_url;                     // "" = the platform's public API
  BotMode mode = BotMode::webhook;              // polling: telegram; gateway: discord; socket: slack
  std::string ca_file;                          // extra CA (PEM) for this bot's API and websocket, "" = none
  std::map<std::string, std::string> secrets;   // role -> vault entry name
  std::map<std::string, std::string> settings;  // role -> plain value
  std::string id() const { return platform + "/" + name; }
  std::string secret(const std::string& role) const;   // "" when unset
  std::string setting(const std::string& role) const;  // "" when unset
};

struct Config {
  NodeConfig node;
  AdminConfig admin;
  LogConfig log;
  StorageConfig storage;
  SupervisorConfig supervisor;
  ActorsConfig actors;
  ContainerConfig container;
  SecurityConfig security;
  ProxyConfig proxy;
  WebhooksConfig webhooks;
  OutboundConfig outbound;
  NamespacesConfig namespaces;
  SchedulerConfig scheduler;
  ClusterConfig cluster;
  std::vector<ChannelBotConfig> channels;  // sorted by id()
  std::string source_file;                 // the TOML file it was loaded from (absolute), "" = none; not a key

  // Derived paths (data_dir joined where the key was left empty).
  std::string storage_path() const;
  std::string admin_token_path() const;
  std::string vault_key_path() const;
  std::string allowlist_path() const;  // `~` expanded against $HOME
};

using Value = std::variant<std::string, int64_t, bool>;
enum class Kind { string, integer, boolean };

// One documented key. Validation is table-driven: min/max for integers, choices for
// enumerated strings.
struct KeyInfo {
  std::string section;
  std::string key;
  Kind kind;
  std::string default_text;  // as written in TOML
  std::string description;
  std::vector<std::string> choices;  // enumerated strings; empty = free text
  std::string env_name() const;      // SQUADBOX_<SECTION>_<KEY>
  std::string dotted() const { return section + "." + key; }
};

const std::vector<KeyInfo>& keys();

// Loads defaults, then `file` (if given), then environment overrides from `env`.
// Errors name the key (and the file line) — code "config.invalid".
Result<Config> load(const std::optional<std::string>& file, const std::map<std::string, std::string>& env);

// ^[a-z0-9][a-z0-9_-]{0,63}$: a proxy route's name is the first segment of its URL path.
// Channel bot keys per platform: which are vault entry names, which plain values.
struct ChannelBotKeys {
  std::vector<std::string> secrets;
  std::vector<std::string> settings;
};
// nullopt for an unknown platform.
std::optional<ChannelBotKeys> channel_bot_keys(std::string_view platform);

bool route_name_ok(std::string_view name);

// The process environment as a map (for load()).
std::map<std::string, std::string> process_environment();

// One Markdown table row per key (key, type, default, variable, description), as
// docs/configuration.md lists them; `squadbox config keys` prints them.
std::string markdown_table();

// The effective configuration rendered as TOML (for `squadbox config show`).
std::string to_toml(const Config& config);

}  // namespace sb::config
