// argon2id via crypto_pwhash_str; "minimal" exists only so test suites can register many users fast.
#include "server/core/passwords.hpp"

#include <sodium.h>

#include <stdexcept>

namespace lotse::core {

std::string hash_password(std::string_view password, PasswordCost cost) {
  char out[crypto_pwhash_STRBYTES];
  unsigned long long ops = cost == PasswordCost::interactive ? crypto_pwhash_OPSLIMIT_INTERACTIVE : crypto_pwhash_OPSLIMIT_MIN;
  size_t mem = cost == PasswordCost::interactive ? crypto_pwhash_MEMLIMIT_INTERACTIVE : 64 * 1024;
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("password hashing ran out of memory");
  return out;
}

bool verify_password(std::string_view hash, std::string_view password) {
  std::string h(hash);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

}  // namespace lotse::core
