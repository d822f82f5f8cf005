// Container parsing for durations only; every length is checked against the buffer.
#include "bridge/audio_duration.hpp"


namespace lotse::bridge {
namespace {

std::uint64_t le(std::string_view b, std::size_t pos, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[pos + static_cast<std::size_t>(i)]);
  return v;
}

// An EBML variable-length integer at `pos`: its value (marker removed unless keep_marker) and length.
bool vint(std::string_view b, std::size_t pos, bool keep_marker, std::uint64_t& value, int& length, bool& unknown) {
  if (pos >= b.size()) return false;
  auto first = static_cast<unsigned char>(b[pos]);
  length = 1;
  while (length <= 8 && !(first & (0x80 >> (length - 1)))) ++length;
  if (length > 8 || pos + static_cast<std::size_t>(length) > b.size()) return false;
  value = keep_marker ? first : (first & (0xFF >> length));
  bool all_ones = (first & (0xFF >> length)) == (0xFF >> length);
  for (int i = 1; i < length; ++i) {
    auto c = static_cast<unsigned char>(b[pos + static_cast<std::size_t>(i)]);
    value = (value << 8) | c;
    if (c != 0xFF) all_ones = false;
  }
  unknown = !keep_marker && all_ones;
  return true;
}

}  // namespace

std::optional<std::int64_t> ogg_opus_duration_ms(std::string_view b) {
  std::size_t pos = 0;
  std::optional<std::uint64_t> pre_skip, last_granule;
  while (pos + 27 <= b.size()) {
    if (b.compare(pos, 4, "OggS") != 0) return std::nullopt;
    std::uint64_t granule = le(b, pos + 6, 8);
    std::size_t nsegs = static_cast<unsigned char>(b[pos + 26]);
    if (pos + 27 + nsegs > b.size()) return std::nullopt;
    std::size_t body = 0;
    for (std::size_t i = 0; i < nsegs; ++i) body += static_cast<unsigned char>(b[pos + 27 + i]);
    std::size_t start = pos + 27 + nsegs;
    if (start + body > b.size()) return std::nullopt;
    if (!pre_skip) {
      if (body < 19 || b.compare(start, 8, "OpusHead") != 0) return std::nullopt;
      pre_skip = le(b, start + 10, 2);
    }
    if (granule != ~0ULL) last_granule = granule;
    pos = start + body;
  }
  if (!pre_skip || !last_granule || *last_granule < *pre_skip) return std::nullopt;
  return static_cast<std::int64_t>((*last_granule - *pre_skip) / 48);
}

std::optional<std::int64_t> webm_duration_ms(std::string_view b) {
  constexpr std::uint64_t kEbml = 0x1A45DFA3, kSegment = 0x18538067, kCluster = 0x1F43B675, kBlockGroup = 0xA0,
                          kTimecode = 0xE7, kSimpleBlock = 0xA3, kBlock = 0xA1, kInfo = 0x1549A966,
                          kTimecodeScale = 0x2AD7B1;
  std::size_t pos = 0;
  std::uint64_t scale = 1'000'000, cluster = 0;
  std::optional<std::int64_t> last, previous;
  bool saw_header = false;
  while (pos < b.size()) {
    std::uint64_t id, size;
    int idlen, sizelen;
    bool unknown_id, unknown;
    if (!vint(b, pos, true, id, idlen, unknown_id) || !vint(b, pos + static_cast<std::size_t>(idlen), false, size, sizelen, unknown))
      break;
    std::size_t data = pos + static_cast<std::size_t>(idlen + sizelen);
    if (id == kEbml) saw_header = true;
    if (id == kSegment || id == kCluster || id == kBlockGroup || id == kInfo) {  // masters: read their children in line
      pos = data;
      continue;
    }
    if (unknown || data + size > b.size()) break;
    if (id == kTimecodeScale && size >= 1 && size <= 8) {
      scale = 0;
      for (std::size_t i = 0; i < size; ++i) scale = (scale << 8) | static_cast<unsigned char>(b[data + i]);
      if (scale == 0) return std::nullopt;
    }
    if (id == kTimecode && size >= 1 && size <= 8) {
      cluster = 0;
      for (std::size_t i = 0; i < size; ++i) cluster = (cluster << 8) | static_cast<unsigned char>(b[data + i]);
    }
    if ((id == kSimpleBlock || id == kBlock) && size >= 4) {
      std::uint64_t track;
      int tlen;
      bool tu;
      if (vint(b, data, false, track, tlen, tu) && static_cast<std::uint64_t>(tlen) + 2 <= size) {
        auto hi = static_cast<unsigned char>(b[data + static_cast<std::size_t>(tlen)]);
        auto lo = static_cast<unsigned char>(b[data + static_cast<std::size_t>(tlen) + 1]);
        auto rel = static_cast<std::int16_t>((hi << 8) | lo);
        previous = last;
        last = static_cast<std::int64_t>(cluster) + rel;
      }
    }
    pos = data + size;
  }
  if (!saw_header || !last) return std::nullopt;
  // The last block plays for as long as the blocks before it did apart (20 ms for browser Opus).
  std::int64_t frame = previous && *last > *previous ? *last - *previous : 0;
  return static_cast<std::int64_t>((static_cast<long double>(*last + frame) * scale) / 1'000'000);
}

std::optional<std::int64_t> audio_duration_ms(std::string_view mime, std::string_view bytes) {
  if (mime.starts_with("audio/ogg") || mime.starts_with("audio/opus")) return ogg_opus_duration_ms(bytes);
  if (mime.starts_with("audio/webm")) return webm_duration_ms(bytes);
  return std::nullopt;
}

}  // namespace lotse::bridge
