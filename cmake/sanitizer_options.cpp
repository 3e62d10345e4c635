// Built into every executable of a REGEVENT_SANITIZE build (see the top
// CMakeLists.txt): the sanitizers' run-time options, so that a finding
// fails whatever runs the program (ctest, a test's child daemon, a person)
// without anyone having to export ASAN_OPTIONS first. The environment
// variables still override them.

/// First finding ends the process with a code of its own (86 ASan and
/// LeakSanitizer, 87 UBSan): a test that checks a daemon's exit status (0
/// after SIGTERM) fails, and the code says which sanitizer spoke. Leaks are
/// checked at exit, hence daemons are stopped with SIGTERM, not SIGKILL.
extern "C" __attribute__((visibility("default"), used)) const char*
__asan_default_options() {
  return "halt_on_error=1:exitcode=86:detect_leaks=1:"
         "check_initialization_order=1:strict_init_order=1";
}

extern "C" __attribute__((visibility("default"), used)) const char*
__ubsan_default_options() {
  return "halt_on_error=1:exitcode=87:print_stacktrace=1";
}

/// One leak that is not ours: SOCI 4.0's PostgreSQL backend connects, then
/// runs `SET extra_float_digits` before it keeps the connection, and when
/// that statement fails (a server shutting down between the two, as in the
/// outage tests) it throws without PQfinish. The connection state libpq
/// allocated in PQconnectStart is then lost. regevent never calls libpq
/// itself, so this matches only that path.
extern "C" __attribute__((visibility("default"), used)) const char*
__lsan_default_suppressions() {
  return "leak:PQconnectStart\n";
}
