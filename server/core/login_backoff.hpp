// Per-account back-off after failed logins. Seekers have no e-mail recovery, so guessing one
// account's password from many addresses must get slow; it must not become a lock-out an attacker
// could use against the owner, so waits double per failure up to a ceiling and never grow further.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace lotse::core {

class LoginBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  struct Settings {
    int free_failures = 5;                          // failures before any wait
    std::chrono::milliseconds first_wait{1000};     // after free_failures, doubling per failure
    std::chrono::milliseconds max_wait{15 * 60 * 1000};
    std::chrono::hours forget_after{24};            // failures older than this no longer count
    std::size_t max_accounts = 100000;              // tracked accounts (oldest dropped beyond)
  };

  LoginBackoff() = default;
  explicit LoginBackoff(Settings s) : settings_(s) {}

  // How long `account` must still wait before a password is checked; 0 when it may be now.
  std::int64_t wait_ms(const std::string& account, Clock::time_point now = Clock::now());
  void failed(const std::string& account, Clock::time_point now = Clock::now());
  void succeeded(const std::string& account) { states_.erase(account); }
  std::size_t tracked() const { return states_.size(); }

 private:
  struct State {
    int failures = 0;
    Clock::time_point last_failure;
  };
  std::chrono::milliseconds wait_after(int failures) const;
  void prune(Clock::time_point now);

  Settings settings_;
  std::unordered_map<std::string, State> states_;
};

}  // namespace lotse::core
