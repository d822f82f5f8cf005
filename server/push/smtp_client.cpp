// SMTP submission with Asio and OpenSSL; see smtp_client.hpp.
#include "server/push/smtp_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

namespace lotse::push {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

std::string base64(const std::string& in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += a[v >> 18], out += a[(v >> 12) & 63], out += a[(v >> 6) & 63], out += a[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += a[v >> 18], out += a[(v >> 12) & 63], out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += a[v >> 18], out += a[(v >> 12) & 63], out += a[(v >> 6) & 63], out += '=';
  }
  return out;
}

// One SMTP session over TCP, switching to TLS after STARTTLS.
class Session {
 public:
  Session(asio::any_io_executor ex, asio::ssl::context& ctx, std::chrono::seconds timeout)
      : stream_(ex, ctx), timeout_(timeout) {}
  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  bool tls = false;

  // Reads one (possibly multi-line) reply; throws unless its code starts with `expect`.
  asio::awaitable<std::string> reply(char expect, const char* step) {
    std::string text;
    for (;;) {
      boost::system::error_code ec;
      beast::get_lowest_layer(stream_).expires_after(timeout_);
      std::size_t n = 0;
      if (tls) n = co_await asio::async_read_until(stream_, asio::dynamic_buffer(buffer_, 8192), "\r\n",
                                                   asio::redirect_error(asio::use_awaitable, ec));
      else n = co_await asio::async_read_until(stream_.next_layer(), asio::dynamic_buffer(buffer_, 8192), "\r\n",
                                               asio::redirect_error(asio::use_awaitable, ec));
      if (ec) throw SmtpError(std::string("SMTP ") + step + ": " + ec.message());
      std::string line = buffer_.substr(0, n - 2);
      buffer_.erase(0, n);
      text += line + "\n";
      if (line.size() < 4 || line[3] != '-') {
        if (line.empty() || line[0] != expect) throw SmtpError(std::string("SMTP ") + step + " refused: " + line.substr(0, 200));
        co_return text;
      }
    }
  }

  asio::awaitable<void> send(const std::string& data) {
    boost::system::error_code ec;
    beast::get_lowest_layer(stream_).expires_after(timeout_);
    if (tls) co_await asio::async_write(stream_, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
    else co_await asio::async_write(stream_.next_layer(), asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) throw SmtpError("SMTP write: " + ec.message());
  }

 private:
  beast::ssl_stream<beast::tcp_stream> stream_;
  std::chrono::seconds timeout_;
  std::string buffer_;
};

}  // namespace

asio::awaitable<void> smtp_send(const SmtpSettings& settings, const std::string& from, const std::string& to,
                                const std::string& message) {
  auto ex = co_await asio::this_coro::executor;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_default_verify_paths();
  if (!settings.ca_file.empty()) {
    boost::system::error_code ca_ec;
    ctx.load_verify_file(settings.ca_file, ca_ec);
    if (ca_ec) throw SmtpError("cannot read the CA file " + settings.ca_file + ": " + ca_ec.message());
  }
  ctx.set_verify_mode(asio::ssl::verify_peer);
  tcp::resolver resolver(ex);
  boost::system::error_code ec;
  auto results = co_await resolver.async_resolve(settings.host, settings.port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw SmtpError("cannot resolve the SMTP host " + settings.host + ": " + ec.message());
  Session s(ex, ctx, settings.timeout);
  beast::get_lowest_layer(s.stream()).expires_after(settings.timeout);
  co_await beast::get_lowest_layer(s.stream()).async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw SmtpError("cannot connect to the SMTP host " + settings.host + ": " + ec.message());
  co_await s.reply('2', "greeting");
  const std::string ehlo = "EHLO lotse\r\n";
  co_await s.send(ehlo);
  co_await s.reply('2', "EHLO");
  if (settings.starttls) {
    const std::string starttls = "STARTTLS\r\n";
    co_await s.send(starttls);
    co_await s.reply('2', "STARTTLS");
    if (!SSL_set_tlsext_host_name(s.stream().native_handle(), settings.host.c_str())) throw SmtpError("SMTP: no SNI");
    s.stream().set_verify_callback(asio::ssl::host_name_verification(settings.host));
    beast::get_lowest_layer(s.stream()).expires_after(settings.timeout);
    co_await s.stream().async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) throw SmtpError("TLS with the SMTP host failed: " + ec.message());
    s.tls = true;
    co_await s.send(ehlo);
    co_await s.reply('2', "EHLO after STARTTLS");
  }
  if (!settings.user.empty()) {
    if (!s.tls) throw SmtpError("SMTP: refusing to send the password without STARTTLS");
    const std::string auth = "AUTH PLAIN " + base64(std::string(1, '\0') + settings.user + '\0' + settings.password) + "\r\n";
    co_await s.send(auth);
    co_await s.reply('2', "AUTH");
  }
  const std::string mail_from = "MAIL FROM:<" + from + ">\r\n", rcpt = "RCPT TO:<" + to + ">\r\n", data = "DATA\r\n";
  co_await s.send(mail_from);
  co_await s.reply('2', "MAIL FROM");
  co_await s.send(rcpt);
  co_await s.reply('2', "RCPT TO");
  co_await s.send(data);
  co_await s.reply('3', "DATA");
  // Dot-stuffing (RFC 5321 4.5.2) and the end of data.
  std::string body;
  std::size_t start = 0;
  while (start < message.size()) {
    auto end = message.find("\r\n", start);
    std::string line = message.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!line.empty() && line[0] == '.') body += '.';
    body += line + "\r\n";
    if (end == std::string::npos) break;
    start = end + 2;
  }
  body += ".\r\n";
  co_await s.send(body);
  co_await s.reply('2', "end of data");
  const std::string quit = "QUIT\r\n";
  co_await s.send(quit);
}

}  // namespace lotse::push
