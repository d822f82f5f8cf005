// The instance's ed25519 signing key in data_dir/signing.key ("ed25519 <version> <base64 seed>").
#pragma once
#include <string>

#include "e2ee/crypto.hpp"

namespace lotse {

// Loads the key, creating it (mode 0600) on first start. Throws std::runtime_error when unreadable.
e2ee::SigningKey load_or_create_signing_key(const std::string& data_dir);

}  // namespace lotse
