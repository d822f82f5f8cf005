// Identifier checks and generation.
#include "server/core/identifiers.hpp"

#include "e2ee/crypto.hpp"

namespace lotse::core {

std::string_view server_part(std::string_view id) {
  auto pos = id.find(':');
  return pos == std::string_view::npos ? std::string_view() : id.substr(pos + 1);
}

std::string_view localpart(std::string_view user_id) {
  auto pos = user_id.find(':');
  if (user_id.empty() || pos == std::string_view::npos) return {};
  return user_id.substr(1, pos - 1);
}

bool is_valid_user_id(std::string_view id) {
  if (id.size() < 4 || id.size() > 255 || id[0] != '@') return false;
  auto pos = id.find(':');
  return pos != std::string_view::npos && pos > 1 && pos + 1 < id.size();
}

bool is_valid_new_localpart(std::string_view lp) {
  if (lp.empty() || lp.size() > 200) return false;
  for (char c : lp) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '=' || c == '-' ||
              c == '/' || c == '+';
    if (!ok) return false;
  }
  return true;
}

bool is_valid_room_id(std::string_view id) {
  if (id.size() < 4 || id.size() > 255 || id[0] != '!') return false;
  auto pos = id.find(':');
  return pos != std::string_view::npos && pos > 1 && pos + 1 < id.size();
}

std::string new_room_id(std::string_view server_name) {
  std::string r = e2ee::random_token(18);
  return "!" + r + ":" + std::string(server_name);
}

}  // namespace lotse::core
