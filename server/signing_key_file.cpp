// Signing key persistence.
#include "server/signing_key_file.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lotse {

e2ee::SigningKey load_or_create_signing_key(const std::string& data_dir) {
  auto path = std::filesystem::path(data_dir) / "signing.key";
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string alg, version, seed_b64;
    in >> alg >> version >> seed_b64;
    auto seed = e2ee::base64_decode(seed_b64);
    if (alg != "ed25519" || version.empty() || !seed || seed->size() != 32)
      throw std::runtime_error("signing key file " + path.string() + " is malformed");
    return e2ee::SigningKey(*seed, "ed25519:" + version);
  }
  std::string version = "a_" + e2ee::base64url_encode(e2ee::random_bytes(3));
  auto key = e2ee::SigningKey::generate("ed25519:" + version);
  {
    std::ofstream out(path);
    if (!out) throw std::runtime_error("cannot write signing key file " + path.string());
    out << "ed25519 " << version << " " << e2ee::base64_encode(key.seed()) << "\n";
  }
  ::chmod(path.c_str(), 0600);
  return key;
}

}  // namespace lotse
