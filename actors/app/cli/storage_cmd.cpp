// squadbox storage migrate: moves a stopped node's SQLite database into an empty PostgreSQL
// schema (docs/storage-postgres.md, "Moving a node from SQLite to PostgreSQL"). A thin
// shell: the checks and the copy are storage/storage_copy.hpp; this file picks the files,
// prints, and turns the outcome into an exit code.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "actors/app/cli/commands.hpp"
#include "runtime/config/conninfo.hpp"
#include "runtime/security/audit/audit_chain.hpp"
#include "storage/migrations.hpp"
#include "storage/postgres/pg_error.hpp"
#include "storage/sqlite.hpp"
#include "storage/storage_copy.hpp"

namespace sb::app::cli {
namespace {

struct MigrateArgs {
  std::string to;             // libpq connection string; empty: storage.postgres_url
  std::string schema;         // empty: storage.postgres_schema
  std::string password_file;  // empty: storage.postgres_password_file
};

// Tables with more rows than this get a progress line on a terminal.
constexpr int64_t kProgressRows = 5000;

std::string head_text(const security::audit::VerifyResult& v) {
  return v.records ? security::audit::to_hex(v.head) : std::string("(empty)");
}

std::string chain_text(const security::audit::VerifyResult& v) {
  if (v.fault) {
    return "FAILED at seq " + std::to_string(v.fault->seq) + " (" + security::audit::to_string(v.fault->kind) +
           "): " + v.fault->reason + "; " + std::to_string(v.records) + " record(s) before it verified";
  }
  return "ok, " + std::to_string(v.records) + " records, head " + head_text(v);
}

// A start-up failure of the target: a usage error when the options are wrong, else a
// runtime failure (server away, authentication, ...).
int target_error_exit(const Error& e) {
  return e.code == storage::pg::kInvalidOption || e.code == storage::pg::kPasswordFile ? kExitUsage : kExitRuntime;
}

int run_migrate(const CliContext& ctx, const MigrateArgs& args) {
  auto config = load_config(ctx.common);
  if (!config) return kExitUsage;
  const std::string conninfo = args.to.empty() ? config->storage.postgres_url : args.to;
  const std::string schema = args.schema.empty() ? config->storage.postgres_schema : args.schema;
  const std::string password_file =
      args.password_file.empty() ? config->storage.postgres_password_file : args.password_file;
  if (conninfo.empty()) {
    std::cerr << "squadbox: --to is required: the PostgreSQL connection string (\"host=... dbname=... user=...\")\n";
    return kExitUsage;
  }
  if (config::conninfo_has_password(conninfo)) {
    std::cerr << "squadbox: --to must not contain a password; use --password-file (mode 0600), PGPASSFILE or "
                 "peer authentication\n";
    return kExitUsage;
  }
  if (!config::postgres_schema_name_ok(schema)) {
    std::cerr << "squadbox: --schema: 1..63 characters of a-z, 0-9 and '_', not starting with a digit\n";
    return kExitUsage;
  }
  // The SQLite file the node uses (storage.path, else DATA_DIR/squadbox.db).
  const std::string source_path = config->storage_path();
  const std::string target = storage::postgres_locator(conninfo, schema, password_file);

  // The target first: a wrong connection string or password file is reported before the
  // source is touched.
  auto to = storage::Database::open(target);
  if (!to) {
    std::cerr << "squadbox: cannot open the target PostgreSQL database (" << conninfo << "): " << to.error().message
              << " [" << to.error().code << "]\n";
    return target_error_exit(to.error());
  }
  if (auto st = storage::check_postgres_target_empty(*to); !st) {
    std::cerr << "squadbox: " << st.error().message << " [" << st.error().code << "]; nothing was written\n";
    return kExitRuntime;
  }
  const int target_version = storage::schema_version(*to);
  if (target_version > storage::kSchemaVersion) {
    std::cerr << "squadbox: the target schema \"" << schema << "\" is at version " << target_version
              << ", newer than this build (" << storage::kSchemaVersion << ") [storage.schema_too_new]\n";
    return kExitRuntime;
  }

  auto from = storage::open_stopped_sqlite(source_path);
  if (!from) {
    std::cerr << "squadbox: " << from.error().message << " [" << from.error().code << "]\n";
    return from.error().code == storage::kCopySourceMissing ? kExitUsage : kExitRuntime;
  }
  const int source_version = storage::schema_version(*from);
  if (source_version < 0) {
    std::cerr << "squadbox: cannot read the schema version of " << source_path << " [storage.schema_unreadable]\n";
    return kExitRuntime;
  }
  if (source_version > storage::kSchemaVersion) {
    std::cerr << "squadbox: " << source_path << " has schema version " << source_version
              << ", which this build (version " << storage::kSchemaVersion
              << ") cannot read; run the squadbox that wrote it [storage.schema_too_new]\n";
    return kExitRuntime;
  }
  if (source_version < storage::kSchemaVersion) {
    std::cout << "source: upgrading " << source_path << " from schema version " << source_version << " to "
              << storage::kSchemaVersion << " (as starting the node would)\n";
  }
  if (auto st = storage::migrate(*from); !st) {
    std::cerr << "squadbox: cannot upgrade " << source_path << ": " << st.error().message << " [" << st.error().code
              << "]\n";
    return kExitRuntime;
  }
  if (auto st = storage::migrate(*to); !st) {
    std::cerr << "squadbox: cannot create the tables in the schema \"" << schema << "\": " << st.error().message << " ["
              << st.error().code << "]\n";
    return kExitRuntime;
  }
  std::cout << "copying " << source_path << " (schema version " << storage::kSchemaVersion << ") into schema \""
            << schema << "\" (" << conninfo << ")\n"
            << std::flush;

  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  auto progress = [terminal](const storage::CopyProgress& p) {
    if (!terminal || p.rows_total < kProgressRows) return;
    std::cerr << "\r  " << p.table << ": " << p.rows_done << " / " << p.rows_total << " rows"
              << (p.rows_done == p.rows_total ? "\r\033[K" : "") << std::flush;
  };
  auto report = storage::copy_sqlite_to_postgres(*from, *to, progress);
  if (!report) {
    std::cerr << "squadbox: the copy failed and was rolled back (schema \"" << schema
              << "\" holds the empty tables only): " << report.error().message << " [" << report.error().code << "]\n";
    return kExitRuntime;
  }

  size_t width = 5;
  for (const auto& t : report->tables) width = std::max(width, t.table.size());
  std::cout << std::left << std::setw(static_cast<int>(width)) << "table" << std::right << std::setw(12) << "sqlite"
            << std::setw(12) << "postgres"
            << "\n";
  for (const auto& t : report->tables) {
    std::cout << std::left << std::setw(static_cast<int>(width)) << t.table << std::right << std::setw(12)
              << t.source_rows << std::setw(12) << t.target_rows << (t.source_rows == t.target_rows ? "" : "  MISMATCH")
              << "\n";
  }
  std::cout << "audit chain in sqlite:   " << chain_text(report->source_chain) << "\n"
            << "audit chain in postgres: " << chain_text(report->target_chain) << "\n";
  const bool counts = report->counts_match();
  const bool chain = report->chain_matches();
  if (counts && chain) {
    std::cout << "ok: " << report->rows << " rows in " << report->tables.size() << " tables copied into schema \""
              << report->target_schema << "\"; audit chain verified, head " << head_text(report->target_chain)
              << ". Point the node at it: [storage] backend = \"postgres\", postgres_url, postgres_schema = \""
              << report->target_schema << "\" (keep vault.key and admin.token in the data directory).\n";
    return kExitOk;
  }
  std::cout << "FAILED: the copy was committed, but "
            << (!counts ? "the row counts differ"
                        : "the audit chain does not verify or does not end where the source's does")
            << "; do not start a node on schema \"" << report->target_schema << "\" before looking at it "
            << "(squadbox audit verify reads either database)\n";
  return kExitRuntime;
}

}  // namespace

void add_storage_commands(CLI::App& app, CliContext& ctx) {
  auto* storage_cmd = app.add_subcommand("storage", "Move a node's database between storage engines");
  storage_cmd->require_subcommand(1);

  auto args = std::make_shared<MigrateArgs>();
  auto* migrate = storage_cmd->add_subcommand(
      "migrate", "Copy a stopped node's SQLite database into an empty PostgreSQL schema, then verify it");
  add_common(migrate, ctx.common);
  migrate->add_option("--to", args->to,
                      "PostgreSQL connection string without a password, e.g. \"host=db port=5432 dbname=squadbox "
                      "user=squadbox\" (default: storage.postgres_url)");
  migrate->add_option("--schema", args->schema, "Target schema, created if missing (default: storage.postgres_schema)");
  migrate->add_option("--password-file", args->password_file,
                      "File holding the password, mode 0600 (default: storage.postgres_password_file; else PGPASSFILE, "
                      "PGPASSWORD or peer authentication)");
  migrate->callback([&ctx, args] { ctx.exit_code = run_migrate(ctx, *args); });
}

}  // namespace sb::app::cli
