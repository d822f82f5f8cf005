// m.ignored_user_list, read (see ignored_users.hpp).
#include "server/core/ignored_users.hpp"

#include "server/core/stored_json.hpp"

namespace lotse::core {

std::set<std::string> ignored_users(AccountData& account_data, const std::string& user_id) {
  std::set<std::string> out;
  auto text = account_data.get(user_id, "", "m.ignored_user_list");
  if (!text) return out;
  auto doc = read_stored_object(*text, "m.ignored_user_list", user_id);
  auto* users = doc ? doc->if_contains("ignored_users") : nullptr;
  if (!users || !users->is_object()) return out;
  for (const auto& [id, _] : users->get_object())
    if (std::string(id) != user_id) out.insert(std::string(id));  // ignoring oneself hides nothing
  return out;
}

}  // namespace lotse::core
