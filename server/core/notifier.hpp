// Wakes long-polling /sync requests: a waiter per request, woken when something for its user commits.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace lotse::core {

class Notifier {
 public:
  explicit Notifier(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}
  // Returns when notify_user(user_id) is called or `timeout` has passed.
  boost::asio::awaitable<void> wait(const std::string& user_id, std::chrono::milliseconds timeout);
  void notify_user(const std::string& user_id);
  // Wakes every waiter (shutdown).
  void notify_all();
  std::size_t waiting() const;

 private:
  boost::asio::any_io_executor executor_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<boost::asio::steady_timer>>> waiters_;
};

}  // namespace lotse::core
