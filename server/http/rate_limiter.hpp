// Token-bucket rate limits keyed by client IP or user.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace lotse::http {

class RateLimiter {
 public:
  RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}
  // Takes one token for `key`; on refusal returns false and sets how long to wait.
  bool allow(const std::string& key, std::int64_t& retry_after_ms);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  double rate_;
  double burst_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace lotse::http
