// kvscope — command-line front end. Formats results; all model math lives in kvscope::models.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "command.hpp"
#include "kvscope/core/error.hpp"
#include "output.hpp"

namespace kvscope::cli {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}
}  // namespace kvscope::cli

int main(int argc, char** argv) {
  using namespace kvscope::cli;
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
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "kvscope: %s\n", e.what());
    return 2;
  } catch (const kvscope::cli::Interrupted&) {
    return 130;  // the command already said what it wrote
  } catch (const kvscope::Error& e) {
    std::fprintf(stderr, "kvscope: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kvscope: internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
