#pragma once
// Subcommand registry: each cli/cmd_*.cpp registers its subcommand with a static Registrar, so
// main() stays short and commands live in their own files.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace kvscope::cli {

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
