// argon2id password hashing (libsodium). Slow by design: call it off the network thread.
#pragma once
#include <string>
#include <string_view>

namespace lotse::core {

enum class PasswordCost { interactive, minimal };

std::string hash_password(std::string_view password, PasswordCost cost);
bool verify_password(std::string_view hash, std::string_view password);

}  // namespace lotse::core
