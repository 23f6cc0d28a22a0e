// The PostgreSQL schema against the SQLite one at the same version: read from the DDL
// texts alone (a small parser of the statements both histories use), so this runs
// without a PostgreSQL server. The parser is checked against a migrated SQLite file.
#include "storage/schema_postgres.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "storage/migrations.hpp"
#include "tests/support/storage_test_support.hpp"

namespace sb::storage {
namespace {

struct Token {
  std::string text;     // lower-cased, except a quoted identifier
  bool quoted = false;  // "..." identifier
};

// Words, quoted identifiers and single punctuation characters. Comments, string literals
// and dollar-quoted bodies (PostgreSQL function bodies) become one opaque token each or
// vanish, so nothing inside them is read as DDL.
std::vector<Token> tokenize(std::string_view sql) {
  std::vector<Token> out;
  size_t i = 0;
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  while (i < sql.size()) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      i = std::min(sql.find('\n', i), sql.size());
    } else if (sql.substr(i, 2) == "$$") {
      const size_t end = sql.find("$$", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
      out.push_back({"<body>", false});
    } else if (c == '\'') {
      size_t j = i + 1;
      while (j < sql.size() && !(sql[j] == '\'' && (j + 1 >= sql.size() || sql[j + 1] != '\'')))
        j += sql[j] == '\'' ? 2 : 1;
      out.push_back({"<string>", false});
      i = j + 1;
    } else if (c == '"') {
      const size_t end = sql.find('"', i + 1);
      out.push_back({std::string(sql.substr(i + 1, end - i - 1)), true});
      i = end + 1;
    } else if (word_char(c)) {
      size_t j = i;
      std::string w;
      while (j < sql.size() && word_char(sql[j]))
        w += static_cast<char>(std::tolower(static_cast<unsigned char>(sql[j++])));
      out.push_back({w, false});
      i = j;
    } else {
      out.push_back({std::string(1, c), false});
      ++i;
    }
  }
  return out;
}

struct Column {
  std::string name;
  std::vector<Token> definition;  // the tokens after the name
};

struct Schema {
  std::map<std::string, std::vector<Column>> tables;
  std::map<std::string, std::string> indexes;  // index -> its table

  std::vector<std::string> column_names(const std::string& table) const {
    std::vector<std::string> out;
    for (const auto& c : tables.at(table)) out.push_back(c.name);
    return out;
  }
};

// Applies the DDL of `sql` to `schema`: CREATE/DROP TABLE, CREATE/DROP INDEX, ALTER TABLE
// RENAME TO / ADD [COLUMN] / DROP COLUMN. Dropping a table drops its indexes, as both
// engines do; renaming one keeps them.
void apply(Schema& schema, std::string_view sql) {
  const std::vector<Token> t = tokenize(sql);
  auto is = [&](size_t at, std::initializer_list<const char*> words) {
    size_t k = at;
    for (const char* w : words) {
      if (k >= t.size() || t[k].quoted || t[k].text != w) return false;
      ++k;
    }
    return true;
  };
  for (size_t i = 0; i < t.size(); ++i) {
    if (is(i, {"create", "table"})) {
      size_t k = i + 2;
      if (is(k, {"if", "not", "exists"})) k += 3;
      const std::string name = t[k].text;
      std::vector<Column> columns;
      std::vector<Token> item;
      int depth = 0;
      for (k += 1; k < t.size(); ++k) {
        const std::string& x = t[k].quoted ? std::string() : t[k].text;
        if (x == "(" && depth++ == 0) continue;
        if ((x == ")" && --depth == 0) || (x == "," && depth == 1)) {
          static const std::set<std::string> constraints = {"primary", "unique", "check", "foreign", "constraint"};
          if (!item.empty() && !constraints.contains(item.front().text))
            columns.push_back({item.front().text, std::vector<Token>(item.begin() + 1, item.end())});
          item.clear();
          if (depth == 0) break;
          continue;
        }
        item.push_back(t[k]);
      }
      schema.tables[name] = columns;
      i = k;
    } else if (is(i, {"create", "index"}) || is(i, {"create", "unique", "index"})) {
      size_t k = i + (t[i + 1].text == "unique" ? 3 : 2);
      if (is(k, {"if", "not", "exists"})) k += 3;
      schema.indexes[t[k].text] = t[k + 2].text;  // NAME ON TABLE
    } else if (is(i, {"drop", "table"})) {
      size_t k = i + 2;
      if (is(k, {"if", "exists"})) k += 2;
      schema.tables.erase(t[k].text);
      std::erase_if(schema.indexes, [&](const auto& idx) { return idx.second == t[k].text; });
    } else if (is(i, {"drop", "index"})) {
      size_t k = i + 2;
      if (is(k, {"if", "exists"})) k += 2;
      schema.indexes.erase(t[k].text);
    } else if (is(i, {"alter", "table"})) {
      const std::string table = t[i + 2].text;
      size_t k = i + 3;
      if (is(k, {"rename", "to"})) {
        schema.tables[t[k + 2].text] = schema.tables[table];
        schema.tables.erase(table);
        for (auto& [index, on] : schema.indexes)
          if (on == table) on = t[k + 2].text;
      } else if (is(k, {"add"})) {
        k += is(k, {"add", "column"}) ? 2 : 1;
        Column c{t[k].text, {}};
        for (++k; k < t.size() && t[k].text != ";"; ++k) c.definition.push_back(t[k]);
        schema.tables[table].push_back(c);
      } else if (is(k, {"drop", "column"})) {
        std::erase_if(schema.tables[table], [&](const Column& c) { return c.name == t[k + 2].text; });
      }
    }
  }
}

Schema sqlite_schema() {
  Schema s;
  for (std::string_view script : migration_scripts()) apply(s, script);
  return s;
}

Schema postgres_schema() {
  Schema s;
  for (const auto& step : postgres_migrations()) apply(s, step.sql);
  return s;
}

std::set<std::string> names(const std::map<std::string, std::vector<Column>>& tables) {
  std::set<std::string> out;
  for (const auto& [name, columns] : tables) out.insert(name);
  return out;
}

TEST(SchemaPostgres, CarriesTheSqliteSchemaVersion) {
  EXPECT_EQ(postgres_schema_version(), kSchemaVersion);
  ASSERT_FALSE(postgres_migrations().empty());
  for (size_t i = 1; i < postgres_migrations().size(); ++i)
    EXPECT_EQ(postgres_migrations()[i].version, postgres_migrations()[i - 1].version + 1);
}

// The parser reads the SQLite history into exactly what a migrated file holds, so the
// comparisons below compare real schemas.
TEST(SchemaPostgres, TheParserReadsTheSqliteHistoryAsSqliteBuildsIt) {
  test::TempDir dir;
  auto db = test::open_db(dir.file("squadbox.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db));
  std::map<std::string, std::vector<std::string>> tables;
  std::map<std::string, std::string> indexes;
  auto objects = db->prepare(
      "SELECT type, name, tbl_name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' "
      "AND (type = 'table' OR (type = 'index' AND sql IS NOT NULL))");
  ASSERT_TRUE(objects);
  while (objects->step().value()) {
    if (objects->column_text(0) == "index") {
      indexes[objects->column_text(1)] = objects->column_text(2);
      continue;
    }
    const std::string table = objects->column_text(1);
    auto info = db->prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid");
    ASSERT_TRUE(info);
    ASSERT_TRUE(info->bind(1, table));
    while (info->step().value()) tables[table].push_back(info->column_text(0));
  }
  const Schema parsed = sqlite_schema();
  EXPECT_EQ(names(parsed.tables).size(), tables.size());
  for (const auto& [table, columns] : tables) {
    ASSERT_TRUE(parsed.tables.contains(table)) << table;
    EXPECT_EQ(parsed.column_names(table), columns) << table;
  }
  EXPECT_EQ(parsed.indexes, indexes);
}

TEST(SchemaPostgres, HasEveryTableColumnAndIndexOfTheSqliteSchema) {
  const Schema lite = sqlite_schema();
  const Schema pg = postgres_schema();
  EXPECT_EQ(names(pg.tables), names(lite.tables));
  for (const auto& [table, columns] : lite.tables) {
    if (!pg.tables.contains(table)) continue;  // reported above
    // Same names in the same order: a row copied column by column lines up.
    EXPECT_EQ(pg.column_names(table), lite.column_names(table)) << table;
  }
  for (const auto& [index, table] : lite.indexes) {
    auto found = pg.indexes.find(index);
    ASSERT_NE(found, pg.indexes.end()) << "index " << index << " on " << table;
    EXPECT_EQ(found->second, table) << index;
  }
}

// Byte order for every text column: ORDER BY and < on text agree with SQLite's BINARY
// collation whatever the database's locale.
TEST(SchemaPostgres, EveryTextColumnComparesBytes) {
  int text_columns = 0;
  for (const auto& [table, columns] : postgres_schema().tables) {
    for (const Column& c : columns) {
      if (c.definition.empty() || c.definition[0].text != "text") continue;
      ++text_columns;
      ASSERT_GE(c.definition.size(), 3u) << table << "." << c.name;
      EXPECT_EQ(c.definition[1].text, "collate") << table << "." << c.name;
      EXPECT_TRUE(c.definition[2].quoted && c.definition[2].text == "C") << table << "." << c.name;
    }
  }
  EXPECT_GT(text_columns, 50);
}

TEST(SchemaPostgres, IdentityColumnsAreTheListedOnes) {
  std::set<std::pair<std::string, std::string>> in_ddl, listed;
  for (const auto& [table, columns] : postgres_schema().tables) {
    for (const Column& c : columns) {
      std::string words;
      for (const Token& t : c.definition) words += t.text + " ";
      if (words.find("generated by default as identity") != std::string::npos) in_ddl.insert({table, c.name});
    }
  }
  for (const IdentityColumn& id : postgres_identity_columns()) listed.insert({id.table, id.column});
  EXPECT_EQ(in_ddl, listed);
  EXPECT_EQ(postgres_reset_identity_sql({"outbox", "id"}),
            "SELECT setval(pg_get_serial_sequence('outbox', 'id'), COALESCE((SELECT max(id) FROM outbox), 0) + 1, "
            "false)");
}

TEST(SchemaPostgres, TheNodeRoleMayOnlyReadAndAppendTheAuditLog) {
  auto sql = postgres_node_role_sql("squadbox_node");
  ASSERT_TRUE(sql) << sql.error().message;
  EXPECT_EQ(*sql,
            "GRANT SELECT, INSERT ON audit_log TO \"squadbox_node\";\n"
            "REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM \"squadbox_node\";\n");
  auto odd = postgres_node_role_sql("we\"ird");
  ASSERT_TRUE(odd);
  EXPECT_NE(odd->find("FROM \"we\"\"ird\";"), std::string::npos) << *odd;
  EXPECT_EQ(postgres_node_role_sql("").error().code, "invalid_field");
  EXPECT_EQ(postgres_node_role_sql(std::string_view("a\0b", 3)).error().code, "invalid_field");
}

TEST(SchemaPostgres, TheAuditLogRefusesEveryChange) {
  const std::string ddl = postgres_migrations().front().sql;
  for (const char* trigger :
       {"BEFORE UPDATE ON audit_log", "BEFORE DELETE ON audit_log", "BEFORE TRUNCATE ON audit_log"})
    EXPECT_NE(ddl.find(trigger), std::string::npos) << trigger;
}

}  // namespace
}  // namespace sb::storage
