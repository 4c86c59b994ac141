// @brief A small RAII layer over the SQLite C API: a connection, prepared statements with typed
// binds and columns, and a transaction that rolls back unless committed. Failures throw Error
// naming the database file and SQLite's message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace kforge::store {

class Statement;

class SqliteDb {
 public:
  // Opens (creating when absent) with foreign keys on, WAL journaling, synchronous=NORMAL (every
  // committed transaction survives the process being killed) and a busy timeout, so a reader such
  // as `kforge db` can run beside a search.
  explicit SqliteDb(const std::filesystem::path& file);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without results.
  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  std::int64_t last_insert_id() const;
  int changes() const;
  const std::filesystem::path& file() const { return m_file; }
  sqlite3* handle() { return m_db; }

  // Throws Error with the file and SQLite's current message, prefixed by `what`.
  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::filesystem::path m_file;
  sqlite3* m_db = nullptr;
};

class Statement {
 public:
  Statement(SqliteDb& db, sqlite3_stmt* stmt) : m_db(&db), m_stmt(stmt) {}
  ~Statement();
  Statement(Statement&& o) noexcept : m_db(o.m_db), m_stmt(o.m_stmt) { o.m_stmt = nullptr; }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  // Parameters are 1-based, as in SQL's ?1, ?2...
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, double v);
  Statement& bind(int i, std::string_view v);
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Statement& bind_null(int i);
  template <class T>
  Statement& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }

  // True while a row is available; false when done.
  bool step();
  // Steps to completion (for statements without results).
  void run();
  void reset();

  // Columns are 0-based.
  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  std::optional<double> optional_real(int col) const;
  std::optional<std::int64_t> optional_int64(int col) const;

 private:
  SqliteDb* m_db;
  sqlite3_stmt* m_stmt;
};

// BEGIN IMMEDIATE on construction (the write lock is taken at once, so two writers never
// deadlock half-way), ROLLBACK on destruction unless commit() ran.
class Transaction {
 public:
  explicit Transaction(SqliteDb& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  SqliteDb& m_db;
  bool m_done = false;
};

}  // namespace kforge::store
