// Notifier implementation: timers that are cancelled to wake their coroutine.
#include "server/core/notifier.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace lotse::core {

boost::asio::awaitable<void> Notifier::wait(const std::string& user_id, std::chrono::milliseconds timeout) {
  auto timer = std::make_shared<boost::asio::steady_timer>(executor_, timeout);
  waiters_[user_id].push_back(timer);
  boost::system::error_code ec;
  co_await timer->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  auto it = waiters_.find(user_id);
  if (it != waiters_.end()) {
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), timer), v.end());
    if (v.empty()) waiters_.erase(it);
  }
}

void Notifier::notify_user(const std::string& user_id) {
  auto it = waiters_.find(user_id);
  if (it == waiters_.end()) return;
  for (auto& t : it->second) t->cancel();
}

void Notifier::notify_all() {
  for (auto& [u, v] : waiters_)
    for (auto& t : v) t->cancel();
}

std::size_t Notifier::waiting() const {
  std::size_t n = 0;
  for (auto& [u, v] : waiters_) n += v.size();
  return n;
}

}  // namespace lotse::core
