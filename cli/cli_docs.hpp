#pragma once
// Shell completion (bash, zsh) and the man page, generated from the CLI11 definition itself: the
// generators walk the CLI::App tree (subcommands, their options, flags and positionals, help
// text), so a flag added to any command is in all three without a hand-written list. `kvscope
// completion bash|zsh` and `kvscope man` (hidden commands) print them; the build runs them and
// CMake installs the results (cli/CMakeLists.txt).
#include <CLI/CLI.hpp>
#include <string>

namespace kvscope::cli {

std::string bash_completion(const CLI::App& app);
std::string zsh_completion(const CLI::App& app);
std::string man_page(const CLI::App& app);

}  // namespace kvscope::cli
