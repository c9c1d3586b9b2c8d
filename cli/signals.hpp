#pragma once
// Signals and the CLI's exit status (docs/reliability.md):
//  * SIGINT, SIGTERM, SIGHUP: the first one sets a flag that every phase polls (set-up, sweep,
//    frontier, plotting, explore): the command stops, writes what it has marked as partial, and
//    kvscope exits 128 + the signal (130 for SIGINT, 143 SIGTERM, 129 SIGHUP). A second one stops
//    at once: uncommitted temporaries are removed and the process exits 128 + the signal.
//  * SIGPIPE and SIGXFSZ, when not ignored by the parent: temporaries are removed, then the
//    default action (the process dies of the signal). Ignored, the write fails with EPIPE / EFBIG
//    and the command reports it ("cannot write to stdout: Broken pipe") and exits 2.
//  * std::terminate (never expected): temporaries are removed before abort.
#include <atomic>

namespace kvscope::cli {

void install_signal_handlers();
// Set by the first SIGINT / SIGTERM / SIGHUP; what SweepOptions::cancel points to.
const std::atomic<bool>* cancel_flag();
// The first stopping signal received, or 0.
int received_signal();
// 128 + received_signal() (130 when none was recorded).
int interrupted_status();
// "SIGINT", "SIGTERM", ...
const char* signal_name(int sig);
// Throws Interrupted when a stopping signal has been received (between phases).
void throw_if_interrupted();

}  // namespace kvscope::cli
