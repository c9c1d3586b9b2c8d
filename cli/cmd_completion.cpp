// Hidden commands that print what the build installs, generated from the CLI11 definition
// (cli_docs.hpp): `kvscope completion bash|zsh` (shell completion) and `kvscope man` (the man
// page, roff). Hidden (group "") so they do not crowd --help; they list every other command.
#include <memory>

#include "cli_docs.hpp"
#include "command.hpp"
#include "output.hpp"

namespace kvscope::cli {
namespace {

struct DocOptions {
  std::string shell;
  std::string output;
};

const Registrar reg_completion(90, [](CLI::App& app) {
  auto o = std::make_shared<DocOptions>();
  CLI::App* sub = app.add_subcommand("completion", "print the shell completion script (bash or zsh)");
  sub->group("");
  sub->add_option("shell", o->shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  sub->add_option("-o,--output", o->output, "write here (atomically) instead of stdout");
  sub->callback([o, &app] { emit(o->shell == "bash" ? bash_completion(app) : zsh_completion(app), o->output); });
});

const Registrar reg_man(91, [](CLI::App& app) {
  auto o = std::make_shared<DocOptions>();
  CLI::App* sub = app.add_subcommand("man", "print the man page (roff, section 1)");
  sub->group("");
  sub->add_option("-o,--output", o->output, "write here (atomically) instead of stdout");
  sub->callback([o, &app] { emit(man_page(app), o->output); });
});

}  // namespace
}  // namespace kvscope::cli
