// Backtrace on fatal signals (see crash_report.hpp). Only async-signal-safe calls in the handler:
// write(2) and backtrace_symbols_fd; backtrace() is primed at install time so it does not allocate.
#include "server/crash_report.hpp"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <initializer_list>

namespace lotse {
namespace {

void write_str(const char* s) { [[maybe_unused]] auto n = ::write(STDERR_FILENO, s, ::strlen(s)); }

void on_fatal(int sig) {
  char num[16];
  int n = sig, i = sizeof num - 1;
  num[i] = 0;
  do num[--i] = static_cast<char>('0' + n % 10); while ((n /= 10) && i > 0);
  write_str("lotse: fatal signal ");
  write_str(num + i);
  write_str(" (");
  write_str(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
  write_str("), backtrace:\n");
  void* frames[64];
  int count = ::backtrace(frames, 64);
  ::backtrace_symbols_fd(frames, count, STDERR_FILENO);
  write_str("lotse: end of backtrace\n");
  ::signal(sig, SIG_DFL);  // die of the same signal (core dump and exit status as without us)
  ::raise(sig);
}

}  // namespace

bool install_crash_report() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return false;
#endif
#endif
  void* prime[1];
  ::backtrace(prime, 1);  // loads libgcc now, not inside the handler
  // Runs on its own stack, so a stack overflow is reported too.
  static char alt_stack[64 * 1024];
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof alt_stack;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa{};
  sa.sa_handler = on_fatal;
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  ::sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &sa, nullptr);
  return true;
}

}  // namespace lotse
