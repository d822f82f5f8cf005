// MatrixClient over Beast with one kept-alive connection, reconnected when the server closed it.
#include "server/matrix_client/matrix_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace lotse::client {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct MatrixClient::Connection {
  boost::asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool open = false;
};

MatrixClient::MatrixClient(const std::string& base_url) : conn_(std::make_unique<Connection>()) {
  std::string rest = base_url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  else throw std::invalid_argument("only http:// base URLs are supported: " + base_url);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  auto colon = rest.rfind(':');
  host_ = colon == std::string::npos ? rest : rest.substr(0, colon);
  port_ = colon == std::string::npos ? "80" : rest.substr(colon + 1);
}

MatrixClient::~MatrixClient() = default;

std::string MatrixClient::url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

MatrixClient::Reply MatrixClient::request(bhttp::verb method, const std::string& path,
                                          const std::optional<boost::json::value>& body) {
  if (body) return send(method, path, boost::json::serialize(*body), "application/json");
  return send(method, path, std::nullopt, "");
}

MatrixClient::Reply MatrixClient::upload(const std::string& path, std::string bytes, const std::string& content_type) {
  return send(bhttp::verb::post, path, std::move(bytes), content_type);
}

MatrixClient::Reply MatrixClient::send(bhttp::verb method, const std::string& path, std::optional<std::string> body,
                                       const std::string& content_type) {
  bhttp::request<bhttp::string_body> req{method, path, 11};
  req.set(bhttp::field::host, host_);
  req.set(bhttp::field::user_agent, "lotse-client");
  if (!token_.empty()) req.set(bhttp::field::authorization, "Bearer " + token_);
  if (body) {
    req.set(bhttp::field::content_type, content_type);
    req.body() = std::move(*body);
  }
  req.keep_alive(true);
  req.prepare_payload();

  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!conn_->open) {
      tcp::resolver resolver(conn_->io);
      conn_->stream.connect(resolver.resolve(host_, port_));
      conn_->open = true;
    }
    beast::error_code ec;
    bhttp::write(conn_->stream, req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (!ec) bhttp::read(conn_->stream, conn_->buffer, parser, ec);
    if (ec) {
      // A kept-alive connection the server has closed: reconnect once.
      conn_->stream.close();
      conn_->open = false;
      conn_->buffer.clear();
      if (attempt == 0) continue;
      throw std::runtime_error("HTTP " + std::string(bhttp::to_string(method)) + " " + path + ": " + ec.message());
    }
    auto res = parser.release();
    if (!res.keep_alive()) {
      conn_->stream.close();
      conn_->open = false;
    }
    boost::system::error_code jec;
    auto parsed = res.body().empty() ? boost::json::value(boost::json::object{}) : boost::json::parse(res.body(), jec);
    if (jec) parsed = boost::json::object{{"raw", res.body()}};
    return Reply{res.result_int(), std::move(parsed)};
  }
  throw std::logic_error("unreachable");
}

boost::json::object MatrixClient::call(bhttp::verb method, const std::string& path,
                                       const std::optional<boost::json::value>& body) {
  auto reply = request(method, path, body);
  if (reply.status / 100 != 2) {
    std::string errcode, message = boost::json::serialize(reply.body);
    if (reply.body.is_object()) {
      if (auto* e = reply.body.as_object().if_contains("errcode"); e && e->is_string()) errcode = e->get_string();
      if (auto* m = reply.body.as_object().if_contains("error"); m && m->is_string()) message = m->get_string();
    }
    throw MatrixRequestError(reply.status, errcode,
                             std::string(bhttp::to_string(method)) + " " + path + " -> " +
                                 std::to_string(reply.status) + " " + errcode + ": " + message);
  }
  return reply.body.is_object() ? reply.body.as_object() : boost::json::object{};
}

std::pair<std::string, std::string> MatrixClient::register_user(const std::string& username,
                                                                const std::string& password) {
  auto res = call(bhttp::verb::post, "/_matrix/client/v3/register",
                  boost::json::object{{"username", username}, {"password", password},
                                      {"auth", {{"type", "m.login.dummy"}}}});
  token_ = std::string(res.at("access_token").as_string());
  return {std::string(res.at("user_id").as_string()), std::string(res.at("device_id").as_string())};
}

}  // namespace lotse::client
