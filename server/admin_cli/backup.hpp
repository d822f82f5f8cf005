// lotse-admin backup / restore / backup verify: local operations on an instance's data directory
// (like bootstrap, run on the server's host). The backup is a consistent snapshot taken while the
// server runs: SQLite's online backup API copies the database inside one read transaction, then
// the media files that snapshot references (content-addressed, never changed once written), the
// signing key and optionally the config; MANIFEST lists every file with its size and SHA-256.
// With --encrypt-to every file is encrypted for one key pair (backup_crypto.hpp): the manifest's
// checksums are those of the encrypted files, so a backup host verifies what it cannot read.
#pragma once
#include <iosfwd>
#include <string>

namespace lotse::admin {

struct BackupOptions {
  std::string data_dir;
  std::string to;           // a directory that does not exist yet or is empty
  std::string config_file;  // optional: the instance's TOML file, copied too
  std::string encrypt_to;   // optional: a key file of `backup keygen` (.pub is enough): every file encrypted
};

struct RestoreOptions {
  std::string from, data_dir;
  std::string key_file;  // the secret key file, for an encrypted backup
};

// Each returns 0 on success and writes what it did (or what is wrong) to `out`/`err`.
int backup(const BackupOptions& opts, std::ostream& out, std::ostream& err);
int verify_backup(const std::string& dir, std::ostream& out, std::ostream& err);
// Verifies, then copies (or decrypts) the backup into `data_dir`, which must not exist or be empty.
int restore(const RestoreOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace lotse::admin
