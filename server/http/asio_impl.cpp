// The one translation unit that compiles Asio and Beast (separate compilation keeps rebuilds fast).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>  // TLS for the push delivery (server/push/https_client.cpp)
#include <boost/beast/src.hpp>
