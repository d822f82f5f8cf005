// Failed-login back-off per account (see login_backoff.hpp).
#include "server/core/login_backoff.hpp"

#include <algorithm>
#include <vector>

namespace lotse::core {

std::chrono::milliseconds LoginBackoff::wait_after(int failures) const {
  int over = failures - settings_.free_failures;
  if (over < 0) return std::chrono::milliseconds(0);
  auto wait = settings_.first_wait;
  for (int i = 0; i < over && wait < settings_.max_wait; ++i) wait *= 2;
  return std::min(wait, settings_.max_wait);
}

std::int64_t LoginBackoff::wait_ms(const std::string& account, Clock::time_point now) {
  auto it = states_.find(account);
  if (it == states_.end()) return 0;
  if (now - it->second.last_failure > settings_.forget_after) {
    states_.erase(it);
    return 0;
  }
  auto until = it->second.last_failure + wait_after(it->second.failures);
  return until > now ? std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1 : 0;
}

void LoginBackoff::failed(const std::string& account, Clock::time_point now) {
  if (states_.size() >= settings_.max_accounts) prune(now);
  auto& s = states_[account];
  if (s.failures > 0 && now - s.last_failure > settings_.forget_after) s.failures = 0;
  ++s.failures;
  s.last_failure = now;
}

void LoginBackoff::prune(Clock::time_point now) {
  for (auto it = states_.begin(); it != states_.end();)
    it = now - it->second.last_failure > settings_.forget_after ? states_.erase(it) : std::next(it);
  // Still full (a flood of names): forget the accounts with the fewest failures first, then the
  // oldest failures, until a tenth is free, so the map stays bounded and pruning stays rare.
  if (states_.size() >= settings_.max_accounts) {
    for (auto it = states_.begin(); it != states_.end();)
      it = it->second.failures <= settings_.free_failures ? states_.erase(it) : std::next(it);
  }
  if (states_.size() >= settings_.max_accounts) {
    std::vector<std::pair<Clock::time_point, std::string>> by_age;
    by_age.reserve(states_.size());
    for (const auto& [k, v] : states_) by_age.emplace_back(v.last_failure, k);
    std::sort(by_age.begin(), by_age.end());
    std::size_t drop = states_.size() - settings_.max_accounts * 9 / 10;
    for (std::size_t i = 0; i < drop && i < by_age.size(); ++i) states_.erase(by_age[i].second);
  }
}

}  // namespace lotse::core
