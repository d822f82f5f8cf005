// Spawns lotse-thumbnailer and collects its output.
#include "server/core/thumbnails.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "e2ee/crypto.hpp"

extern char** environ;

namespace lotse::core {

bool thumbnailable(const std::string& content_type) {
  return content_type == "image/jpeg" || content_type == "image/png" || content_type == "image/gif" ||
         content_type == "image/webp";
}

namespace {
std::string helper_path() {
  static const std::string path = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "lotse-thumbnailer").string();
  return path;
}
}  // namespace

std::optional<Thumbnail> make_thumbnail(const std::string& path, const std::string& work_dir, int width, int height,
                                        const std::string& method) {
  std::string out = work_dir + "/thumb-" + e2ee::random_token(9);
  int pipefd[2];
  if (::pipe(pipefd) != 0) return std::nullopt;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipefd[0]);
  std::string w = std::to_string(width), h = std::to_string(height), helper = helper_path();
  std::vector<char*> argv{helper.data(), const_cast<char*>(path.c_str()), out.data(), w.data(), h.data(),
                          const_cast<char*>(method.c_str()), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, helper.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    return std::nullopt;
  }
  std::string content_type;
  char buf[256];
  pollfd pfd{pipefd[0], POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    content_type.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::optional<Thumbnail> result;
  while (!content_type.empty() && (content_type.back() == '\n' || content_type.back() == '\r')) content_type.pop_back();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !content_type.empty()) {
    std::ifstream in(out, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    result = Thumbnail{ss.str(), content_type};
  }
  std::error_code ec;
  std::filesystem::remove(out, ec);
  return result;
}

}  // namespace lotse::core
