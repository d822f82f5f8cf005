// HTML 4.01 named character references ("auml" -> U+00E4), for decoding the old system's texts.
#pragma once
#include <optional>
#include <string_view>

namespace lotse::bridge {

std::optional<char32_t> html4_entity(std::string_view name);

}  // namespace lotse::bridge
