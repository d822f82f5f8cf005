// Encrypted backup files (see backup_crypto.hpp).
#include "server/admin_cli/backup_crypto.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace lotse::admin {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kMagic = "LOTSE-ENC-1\n";
constexpr std::string_view kKeyMagic = "lotse-backup-key-v1 ";
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kFileKey = crypto_secretstream_xchacha20poly1305_KEYBYTES;
constexpr std::size_t kSealed = crypto_box_SEALBYTES + kFileKey;
constexpr std::size_t kHeader = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t kTag = crypto_secretstream_xchacha20poly1305_ABYTES;

std::optional<std::string> from_hex(std::string_view hex) {
  std::string out(hex.size() / 2, '\0');
  std::size_t len = 0;
  if (hex.size() % 2 || sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(), hex.size(),
                                       nullptr, &len, nullptr) != 0 || len != out.size())
    return std::nullopt;
  return out;
}

const unsigned char* u(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

bool write_private(const fs::path& p, const std::string& text, std::string& error) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = "cannot create " + p.string() + " (" + std::strerror(errno) + "; an existing key is never overwritten)";
    return false;
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) error = "cannot write " + p.string();
  return ok;
}

}  // namespace

std::string to_hex(const std::string& bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), u(bytes), bytes.size());
  out.pop_back();
  return out;
}

std::optional<std::string> write_backup_keypair(const fs::path& path, std::string& error) {
  std::string pk(crypto_box_PUBLICKEYBYTES, '\0'), sk(crypto_box_SECRETKEYBYTES, '\0');
  crypto_box_keypair(reinterpret_cast<unsigned char*>(pk.data()), reinterpret_cast<unsigned char*>(sk.data()));
  std::string secret_line = std::string(kKeyMagic) + "secret " + to_hex(sk) + " " + to_hex(pk) + "\n";
  sodium_memzero(sk.data(), sk.size());
  bool ok = write_private(path, secret_line, error);
  sodium_memzero(secret_line.data(), secret_line.size());
  if (!ok) return std::nullopt;
  fs::path pub = path.string() + ".pub";
  std::ofstream(pub) << kKeyMagic << "public " << to_hex(pk) << "\n";
  if (!fs::exists(pub)) {
    error = "cannot write " + pub.string();
    return std::nullopt;
  }
  return to_hex(pk);
}

std::optional<BackupKeyPair> read_backup_key(const fs::path& path, bool need_secret, std::string& error) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.rfind(kKeyMagic, 0) != 0) {
    error = path.string() + " is not a lotse backup key (lotse-admin backup keygen)";
    return std::nullopt;
  }
  std::string_view rest = std::string_view(line).substr(kKeyMagic.size());
  BackupKeyPair key;
  if (rest.rfind("secret ", 0) == 0) {
    rest.remove_prefix(7);
    auto sp = rest.find(' ');
    auto sk = from_hex(rest.substr(0, sp)), pk = sp == std::string_view::npos ? std::nullopt : from_hex(rest.substr(sp + 1));
    sodium_memzero(line.data(), line.size());
    if (!sk || !pk || sk->size() != crypto_box_SECRETKEYBYTES || pk->size() != crypto_box_PUBLICKEYBYTES) {
      error = path.string() + ": damaged secret key";
      return std::nullopt;
    }
    key = {*pk, *sk};
  } else if (rest.rfind("public ", 0) == 0) {
    auto pk = from_hex(rest.substr(7));
    if (!pk || pk->size() != crypto_box_PUBLICKEYBYTES) {
      error = path.string() + ": damaged public key";
      return std::nullopt;
    }
    if (need_secret) {
      error = path.string() + " holds only the public key; decrypting needs the secret key file";
      return std::nullopt;
    }
    key.public_key = *pk;
  } else {
    error = path.string() + " is not a lotse backup key";
    return std::nullopt;
  }
  return key;
}

bool encrypt_backup_file(const fs::path& from, const fs::path& to, const std::string& rel, const std::string& public_key,
                         std::string& error) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  if (!in || !out) {
    error = "cannot open " + (in ? to : from).string();
    return false;
  }
  unsigned char file_key[kFileKey];
  crypto_secretstream_xchacha20poly1305_keygen(file_key);
  unsigned char sealed[kSealed], header[kHeader];
  crypto_box_seal(sealed, file_key, kFileKey, u(public_key));
  crypto_secretstream_xchacha20poly1305_state st;
  crypto_secretstream_xchacha20poly1305_init_push(&st, header, file_key);
  sodium_memzero(file_key, sizeof file_key);
  out.write(kMagic.data(), kMagic.size());
  out.write(reinterpret_cast<const char*>(sealed), kSealed);
  out.write(reinterpret_cast<const char*>(header), kHeader);
  std::vector<unsigned char> plain(kChunk), cipher(kChunk + kTag);
  // Read one chunk ahead, so the last one (possibly empty) carries the final tag.
  in.read(reinterpret_cast<char*>(plain.data()), kChunk);
  std::size_t n = static_cast<std::size_t>(in.gcount());
  for (;;) {
    std::vector<unsigned char> next(kChunk);
    std::size_t m = 0;
    if (n == kChunk) {
      in.read(reinterpret_cast<char*>(next.data()), kChunk);
      m = static_cast<std::size_t>(in.gcount());
    }
    bool last = n < kChunk || (m == 0 && in.eof());
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(&st, cipher.data(), &clen, plain.data(), n, u(rel), rel.size(),
                                               last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
    out.write(reinterpret_cast<const char*>(cipher.data()), static_cast<std::streamsize>(clen));
    if (last) break;
    plain.swap(next);
    n = m;
  }
  sodium_memzero(&st, sizeof st);
  sodium_memzero(plain.data(), plain.size());
  out.flush();
  if (!out) {
    error = "cannot write " + to.string();
    return false;
  }
  return true;
}

bool decrypt_backup_file(const fs::path& from, const fs::path& to, const std::string& rel, const BackupKeyPair& key,
                         std::string& error) {
  auto fail = [&](const std::string& why) {
    std::error_code ec;
    fs::remove(to, ec);
    error = from.filename().string() + ": " + why;
    return false;
  };
  std::ifstream in(from, std::ios::binary);
  if (!in) return fail("cannot open it");
  std::string magic(kMagic.size(), '\0');
  unsigned char sealed[kSealed], header[kHeader], file_key[kFileKey];
  in.read(magic.data(), static_cast<std::streamsize>(magic.size()));
  in.read(reinterpret_cast<char*>(sealed), kSealed);
  in.read(reinterpret_cast<char*>(header), kHeader);
  if (!in || magic != kMagic) return fail("not an encrypted backup file");
  if (crypto_box_seal_open(file_key, sealed, kSealed, u(key.public_key), u(key.secret_key)) != 0)
    return fail("not encrypted for this key");
  crypto_secretstream_xchacha20poly1305_state st;
  bool init = crypto_secretstream_xchacha20poly1305_init_pull(&st, header, file_key) == 0;
  sodium_memzero(file_key, sizeof file_key);
  if (!init) return fail("damaged header");
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  if (!out) return fail("cannot write " + to.string());
  std::vector<unsigned char> cipher(kChunk + kTag), plain(kChunk);
  for (;;) {
    in.read(reinterpret_cast<char*>(cipher.data()), static_cast<std::streamsize>(cipher.size()));
    auto got = static_cast<std::size_t>(in.gcount());
    unsigned long long plen = 0;
    unsigned char tag = 0;
    if (got < kTag || crypto_secretstream_xchacha20poly1305_pull(&st, plain.data(), &plen, &tag, cipher.data(), got,
                                                                 u(rel), rel.size()) != 0)
      return fail("damaged, truncated or not from this place in the backup");
    out.write(reinterpret_cast<const char*>(plain.data()), static_cast<std::streamsize>(plen));
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
      if (in.peek() != std::char_traits<char>::eof()) return fail("data after the final chunk");
      break;
    }
    if (got < cipher.size()) return fail("truncated");
  }
  sodium_memzero(plain.data(), plain.size());
  out.flush();
  if (!out) return fail("cannot write " + to.string());
  return true;
}

}  // namespace lotse::admin
