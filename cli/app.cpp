// kvscope — command-line front end (run_cli). Formats results; all model math lives in kvscope::models.
#include "app.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <sstream>

#include "command.hpp"
#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/output_file.hpp"
#include "output.hpp"
#include "signals.hpp"

namespace kvscope::cli {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}
}  // namespace kvscope::cli

namespace kvscope::cli {

namespace {
// An error after a stopping signal is the signal's consequence (an interrupted write, a
// cancelled phase): exit 128 + signal, saying so.
// Messages quote input (file names, flag values, keys): escaped and elided, so an error is one
// line on stderr with no terminal escape in it.
int error_status(const char* what) {
  const std::string line = kvscope::display_text(what, 2000);
  if (received_signal() != 0) {
    std::fprintf(stderr, "kvscope: interrupted by %s: %s\n", signal_name(received_signal()), line.c_str());
    return interrupted_status();
  }
  std::fprintf(stderr, "kvscope: %s\n", line.c_str());
  return 2;
}
}  // namespace

int run_cli(int argc, char** argv) {
  install_signal_handlers();
  CLI::App app{"kvscope " KVSCOPE_VERSION
               " — KV-cache design-space explorer: memory, bandwidth, latency, throughput and accuracy of "
               "head sharing (MHA/GQA/MQA) and layer sharing (CLA) on real GPUs.\n"
               "Units: GB = 1e9 B, GiB = 2^30 B; JSON keys carry their unit. Token counts (--context, --prompt, --window,\n"
               "--max-num-batched-tokens, --block-size) take k = 1024 and M = 1024^2, as serving tools write them:\n"
               "--context 128k = 131072, --context 1k..128k:x2.",
               "kvscope"};
  recorded_command_line() = command_line_of(argc, argv);
  app.require_subcommand(1);
  app.set_version_flag("--version", "kvscope " KVSCOPE_VERSION);
  auto& registry = command_registry();
  std::sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& c : registry) c.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / --version exit 0; every usage error exits 2 with one line on stderr.
    if (e.get_exit_code() == 0) {
      // Through the checked writer: `kvscope --help > /dev/full` is an error, not exit 0.
      std::ostringstream out, err;
      app.exit(e, out, err);
      try {
        write_output("", out.str());
      } catch (const kvscope::Error& w) {
        return error_status(w.what());
      }
      return 0;
    }
    return error_status(e.what());
  } catch (const Interrupted&) {
    // The command already said what it wrote (a partial result, marked so) or nothing.
    if (received_signal() == 0) std::fprintf(stderr, "kvscope: interrupted\n");
    return interrupted_status();
  } catch (const kvscope::InputErrors& e) {
    // Every error of one file, one line each (a user's model or GPU file).
    int status = 2;
    for (const std::string& m : e.messages()) status = error_status(m.c_str());
    return status;
  } catch (const kvscope::Error& e) {
    return error_status(e.what());
  } catch (const std::bad_alloc&) {
    return error_status(
        "out of memory (a design space, frontier or plot too large for this machine: "
        "narrow the axes, add --constraint, or lower --max-points)");
  } catch (const std::exception& e) {
    if (received_signal() != 0) return error_status(e.what());
    std::fprintf(stderr, "kvscope: internal error: %s\n", kvscope::display_text(e.what(), 2000).c_str());
    return 3;
  }
  if (received_signal() != 0) {
    // The work finished before the signal was seen; its output is complete.
    std::fprintf(stderr, "kvscope: %s received; the output written is complete\n", signal_name(received_signal()));
    return interrupted_status();
  }
  return 0;
}

}  // namespace kvscope::cli
