#pragma once
// Subcommand registry: each cli/cmd_*.cpp registers its subcommand with a static Registrar, so
// main() stays short and commands live in their own files.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace kvscope::cli {

// Thrown after a command has written its partial result because SIGINT stopped the work:
// main() exits 130 (128 + SIGINT, the shell convention) so scripts can tell it from a full run.
struct Interrupted {};

using Setup = std::function<void(CLI::App& app)>;

struct CommandSpec {
  int order;  // position in --help
  Setup setup;
};

std::vector<CommandSpec>& command_registry();

struct Registrar {
  Registrar(int order, Setup setup) { command_registry().push_back({order, std::move(setup)}); }
};

}  // namespace kvscope::cli
