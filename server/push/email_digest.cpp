// E-mail digests; see email_digest.hpp.
#include "server/push/email_digest.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <fstream>

#include "e2ee/crypto.hpp"
#include "server/log.hpp"
#include "server/push/smtp_client.hpp"
#include "server/push/web_push.hpp"

namespace lotse::push {
namespace asio = boost::asio;

namespace {

std::string load_or_create_key(const std::string& path) {
  std::ifstream in(path);
  std::string key;
  if (in && std::getline(in, key) && key.size() >= 32) return key;
  key = e2ee::random_token(32);
  auto old = ::umask(077);
  std::ofstream out(path, std::ios::trunc);
  ::umask(old);
  out << key << "\n";
  if (!out) throw std::runtime_error("cannot write " + path);
  return key;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += '%', out += hex[c >> 4], out += hex[c & 15];
  }
  return out;
}

// A header value: as is in ASCII, otherwise RFC 2047 encoded-word (UTF-8, Base64).
std::string header_text(const std::string& s) {
  bool ascii = true;
  for (unsigned char c : s) ascii = ascii && c >= 0x20 && c < 0x7F;
  if (ascii) return s;
  std::string b = base64url_encode(s);
  for (auto& c : b) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (b.size() % 4) b += '=';
  return "=?UTF-8?B?" + b + "?=";
}

std::string rfc5322_date() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

EmailDigest::EmailDigest(asio::io_context& io, store::Database& db, core::EmailDigests& digests,
                         const config::Config& config)
    : io_(io), db_(db), digests_(digests), config_(config),
      key_(load_or_create_key(config.data_dir + "/email-unsubscribe.key")) {}

void EmailDigest::start() {
  if (config_.email.host.empty()) return;
  asio::co_spawn(io_, run(), asio::detached);
}

std::string EmailDigest::token(const std::string& user_id) const {
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(user_id.data()),
       user_id.size(), mac, &len);
  return base64url_encode(std::string(reinterpret_cast<char*>(mac), len));
}

bool EmailDigest::token_valid(const std::string& user_id, const std::string& token_text) const {
  auto expected = token(user_id);
  return token_text.size() == expected.size() && CRYPTO_memcmp(token_text.data(), expected.data(), expected.size()) == 0;
}

std::string EmailDigest::unsubscribe_url(const std::string& user_id) const {
  std::string base = config_.public_baseurl;
  if (base.empty()) base = "http://" + config_.listen_address + ":" + std::to_string(config_.listen_port);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/_lotse/client/v1/email/unsubscribe?user=" + url_encode(user_id) + "&token=" + token(user_id);
}

std::string EmailDigest::message(const core::DueDigest& d, const std::string& message_id_domain) const {
  const auto n = std::to_string(d.unread), m = std::to_string(d.rooms), link = unsubscribe_url(d.user_id);
  std::string app = config_.public_baseurl.empty() ? link.substr(0, link.find("/_lotse")) : config_.public_baseurl;
  std::string msg;
  msg += "From: " + header_text(config_.branding.name) + " <" + config_.email.from + ">\r\n";
  msg += "To: <" + d.email + ">\r\n";
  msg += "Subject: " + header_text(config_.branding.name + ": neue Nachrichten / new messages") + "\r\n";
  msg += "Date: " + rfc5322_date() + "\r\n";
  msg += "Message-ID: <" + e2ee::random_token(16) + "@" + message_id_domain + ">\r\n";
  msg += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n";
  msg += "Auto-Submitted: auto-generated\r\n";
  msg += "List-Unsubscribe: <" + link + ">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n";
  msg += "Sie haben " + n + " ungelesene Nachrichten in " + m + " Beratungen.\r\n";
  msg += "You have " + n + " unread messages in " + m + " consultations.\r\n\r\n";
  msg += app + "\r\n\r\n";
  msg += "Keine solchen E-Mails mehr / No more of these e-mails:\r\n" + link + "\r\n";
  return msg;
}

asio::awaitable<void> EmailDigest::run() {
  const auto& e = config_.email;
  SmtpSettings smtp{e.host, std::to_string(e.port), e.starttls, e.user, e.password, std::chrono::seconds(20), e.ca_file};
  asio::steady_timer timer(io_);
  for (;;) {
    timer.expires_after(std::chrono::seconds(e.check_seconds));
    co_await timer.async_wait(asio::use_awaitable);
    auto due = digests_.due(now_ms(), e.delay_seconds * 1000, e.interval_seconds * 1000);
    for (const auto& d : due) {
      auto text = message(d, config_.server_name);
      std::string error;
      try {
        co_await smtp_send(smtp, e.from, d.email, text);
      } catch (const std::exception& ex) {
        error = ex.what();
      }
      if (!error.empty()) {
        log_line("warn", "e-mail digest not sent (tried again at the next check)", {{"error", error}});
        break;  // the SMTP server is unwell: the others wait for the next round too
      }
      {
        store::WriteUnit unit(db_);
        digests_.mark_sent(unit, d.user_id, now_ms(), d.up_to_stream);
        unit.release();
      }
      co_await db_.commit();
    }
  }
}

}  // namespace lotse::push
