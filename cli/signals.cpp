#include "signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>

#include "command.hpp"
#include "kvscope/core/output_file.hpp"

namespace kvscope::cli {
namespace {

std::atomic<bool> g_cancel{false};
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, sig)) {
    // A second signal: the user does not want to wait for the partial result.
    remove_output_temporaries();
    ::_exit(128 + sig);
  }
  g_cancel.store(true);
  request_output_stop();
}

extern "C" void on_fatal_signal(int sig) {
  remove_output_temporaries();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void on_terminate() {
  remove_output_temporaries();
  std::abort();
}

void install(int sig, void (*handler)(int), bool only_if_default) {
  struct sigaction old {};
  ::sigaction(sig, nullptr, &old);
  if (only_if_default && old.sa_handler != SIG_DFL) return;  // e.g. SIGPIPE ignored by the parent
  if (old.sa_handler == SIG_IGN && sig == SIGHUP) return;    // nohup: keep running
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking open or write (FIFO, pipe) returns EINTR and stops
  ::sigaction(sig, &sa, nullptr);
}

}  // namespace

void install_signal_handlers() {
  g_cancel.store(false);
  g_signal.store(0);
  install(SIGINT, on_stop_signal, false);
  install(SIGTERM, on_stop_signal, false);
  install(SIGHUP, on_stop_signal, false);
  install(SIGPIPE, on_fatal_signal, true);
  install(SIGXFSZ, on_fatal_signal, true);
  std::set_terminate(on_terminate);
}

const std::atomic<bool>* cancel_flag() {
  return &g_cancel;
}
int received_signal() {
  return g_signal.load();
}
int interrupted_status() {
  const int s = g_signal.load();
  return s > 0 ? 128 + s : 130;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

void throw_if_interrupted() {
  if (g_cancel.load()) throw Interrupted{};
}

}  // namespace kvscope::cli
