// Reading an export of the old system (README of the export): the MongoDB collections as Extended
// JSON lines, the two MariaDB dumps loaded into an in-memory SQLite database (only CREATE TABLE and
// INSERT may run: the dump is data, not a program), the Keycloak realm export and the settings.
// Nothing here interprets the data; migration_plan.cpp does.
#pragma once
#include <boost/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;

namespace lotse::bridge {

// Something in the export that could not be read or mapped, with the old id it concerns.
struct Problem {
  std::string kind;    // short, stable, e.g. "orphan-room", "upload-file-missing"
  std::string old_id;  // the old system's id (room, message, user, session, file ...)
  std::string detail;  // a sentence for the operator
};

// A read-only view of one SQL table: rows as column -> text (NULL columns are absent).
using SqlRow = std::map<std::string, std::string>;

class OldExport {
 public:
  // Reads everything under `dir`; a file that is missing or unreadable throws std::runtime_error
  // naming it, a single bad line becomes a Problem.
  explicit OldExport(const std::filesystem::path& dir);
  ~OldExport();
  OldExport(const OldExport&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::vector<boost::json::object> rc_users, rooms, subscriptions, messages, uploads, consulting_types;
  boost::json::array keycloak_users;
  std::map<std::string, std::string> properties;  // config/services.properties
  std::vector<Problem> read_problems;

  // All rows of a table of the two MariaDB schemas (e.g. "session", "agency"), in dump order.
  std::vector<SqlRow> table(const std::string& name) const;
  // Path of an upload's bytes: uploads/<id>.<extension>; empty when the id or extension is unsafe.
  std::filesystem::path upload_path(const std::string& id, const std::string& extension) const;

 private:
  void load_sql(const std::filesystem::path& file);
  std::filesystem::path dir_;
  // Owned by a member that cleans up even when the constructor throws half-way (a refused dump).
  struct CloseDb {
    void operator()(sqlite3* db) const;
  };
  std::unique_ptr<sqlite3, CloseDb> db_;
};

}  // namespace lotse::bridge
