// On a fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) lotse writes one line naming the
// signal and a backtrace to stderr (the journal under systemd), then dies of the same signal, so
// the supervisor restarts it and the operator has something to act on. Not installed in sanitizer
// builds, whose own reports are better.
#pragma once

namespace lotse {

// Returns whether the handlers were installed.
bool install_crash_report();

}  // namespace lotse
