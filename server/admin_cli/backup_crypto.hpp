// Encrypted backups (lotse-admin backup --encrypt-to): each file of a backup is encrypted for the
// holder of one X25519 key pair, so a backup host stores, copies and verifies backups it cannot
// read. A file's random key is sealed to the public key (libsodium crypto_box_seal); the content is
// encrypted in 64 KiB chunks with crypto_secretstream_xchacha20poly1305, each chunk bound to the
// file's path in the backup (additional data), the last one tagged final (no truncation, no swap of
// two files). File format: "LOTSE-ENC-1\n", the sealed key (80 bytes), the stream header (24
// bytes), then the chunks, each with its 17-byte tag.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace lotse::admin {

struct BackupKeyPair {
  std::string public_key, secret_key;  // raw bytes, 32 each
};

// A new key pair written to `path` (secret, mode 0600, refuses to overwrite) and `path`.pub;
// returns the public key as hex, or nullopt with `error` set.
std::optional<std::string> write_backup_keypair(const std::filesystem::path& path, std::string& error);
// Reads a key file written by write_backup_keypair (the .pub file gives only the public half).
std::optional<BackupKeyPair> read_backup_key(const std::filesystem::path& path, bool need_secret, std::string& error);

// Encrypts `from` into `to` for `public_key`, bound to `rel` (the file's path in the backup).
bool encrypt_backup_file(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& rel,
                         const std::string& public_key, std::string& error);
// Decrypts and authenticates; on any failure `to` is removed and `error` says why.
bool decrypt_backup_file(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& rel,
                         const BackupKeyPair& key, std::string& error);

std::string to_hex(const std::string& bytes);

}  // namespace lotse::admin
