// lotse-thumbnailer SRC OUT WIDTH HEIGHT scale|crop: makes one thumbnail with libvips, writes it to
// OUT and prints its content type. lotse runs it as a child process so that image decoders never
// run inside the server (a malformed image can only crash this process) and the server does not
// carry libvips' libraries in memory.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "server/thumbnailer/vips_thumbnail.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: lotse-thumbnailer SRC OUT WIDTH HEIGHT scale|crop\n");
    return 2;
  }
  std::string method = argv[5];
  int width = std::atoi(argv[3]), height = std::atoi(argv[4]);
  if (width < 1 || height < 1 || (method != "scale" && method != "crop")) return 2;
  auto thumb = lotse::thumbnailer::make_thumbnail(argv[1], width, height, method);
  if (!thumb) return 1;
  std::ofstream out(argv[2], std::ios::binary);
  out.write(thumb->bytes.data(), static_cast<std::streamsize>(thumb->bytes.size()));
  if (!out) return 1;
  std::printf("%s\n", thumb->content_type.c_str());
  return 0;
}
