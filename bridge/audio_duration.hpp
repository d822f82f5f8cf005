// The playing time of a voice message, read from its container: Opus in Ogg (the last page's
// granule position less the pre-skip, at 48 kHz) or in WebM as browsers record it, without a
// Duration element (the last block's time plus its frame length). nullopt when it cannot tell.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace lotse::bridge {

std::optional<std::int64_t> ogg_opus_duration_ms(std::string_view bytes);
std::optional<std::int64_t> webm_duration_ms(std::string_view bytes);
// By MIME type (audio/ogg, audio/webm); nullopt for anything else.
std::optional<std::int64_t> audio_duration_ms(std::string_view mime, std::string_view bytes);

}  // namespace lotse::bridge
