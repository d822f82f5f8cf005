// Token buckets; idle full buckets are dropped so the map does not grow without bound.
#include "server/http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace lotse::http {

bool RateLimiter::allow(const std::string& key, std::int64_t& retry_after_ms) {
  auto now = std::chrono::steady_clock::now();
  if (buckets_.size() > 100000) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      double age = std::chrono::duration<double>(now - it->second.updated).count();
      it = it->second.tokens + age * rate_ >= burst_ ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  auto& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.updated).count();
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  retry_after_ms = static_cast<std::int64_t>(std::ceil((1.0 - b.tokens) / rate_ * 1000.0));
  return false;
}

}  // namespace lotse::http
