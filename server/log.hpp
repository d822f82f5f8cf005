// Structured JSON log lines on stdout, one per line (requests, start-up, shutdown, errors, unreadable rows).
#pragma once
#include <boost/json.hpp>
#include <string_view>

namespace lotse {

// Writes {"time":..., "level":..., "msg":..., <fields>} as one line.
void log_line(std::string_view level, std::string_view msg, boost::json::object fields = {});

}  // namespace lotse
