#include "cli_docs.hpp"

#include <fmt/format.h>

#include <vector>

namespace kvscope::cli {

namespace {

// Subcommands a user runs: hidden ones (group "") are the generators themselves.
std::vector<const CLI::App*> commands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); });
}

// Every named option of a command (hidden aliases included: they are accepted spellings), and
// its positionals.
std::vector<const CLI::Option*> named_options(const CLI::App& a) {
  return a.get_options([](const CLI::Option* o) { return o->nonpositional(); });
}
std::vector<const CLI::Option*> positionals(const CLI::App& a) {
  return a.get_options([](const CLI::Option* o) { return !o->nonpositional() && o->get_positional(); });
}

// Flags expect no value (CLI11's expected(0)); options one; repeatable ones (vectors) more.
bool takes_value(const CLI::Option* o) {
  return o->get_expected_max() > 0;
}
bool repeatable(const CLI::Option* o) {
  return o->get_expected_max() > 1 || o->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
}
bool hidden(const CLI::Option* o) {
  return o->get_group().empty();
}

std::vector<std::string> spellings(const CLI::Option* o) {
  std::vector<std::string> s;
  for (const std::string& n : o->get_snames()) s.push_back("-" + n);
  for (const std::string& n : o->get_lnames()) s.push_back("--" + n);
  return s;
}

std::string joined(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// The first line of a description, for one-line help in completions.
std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

// ---- bash ------------------------------------------------------------------------------------

std::string bash_words(const CLI::App& a, bool values) {
  std::vector<std::string> w;
  for (const CLI::Option* o : named_options(a)) {
    if (takes_value(o) != values) continue;
    for (const std::string& s : spellings(o)) w.push_back(s);
  }
  return joined(w, " ");
}

// ---- zsh -------------------------------------------------------------------------------------

// Text inside a single-quoted zsh word, inside _arguments' [...] and after ':'.
std::string zsh_quote(const std::string& s) {
  std::string o;
  for (char c : first_line(s)) {
    if (c == '\'')
      o += "'\\''";
    else if (c == '[' || c == ']' || c == ':' || c == '\\')
      o += std::string("\\") + c;
    else
      o += c;
  }
  return o;
}

std::string zsh_option_specs(const CLI::App& a, const std::string& indent) {
  std::string s;
  for (const CLI::Option* o : named_options(a)) {
    const std::vector<std::string> names = spellings(o);
    const std::string help = zsh_quote(o->get_description());
    const std::string value =
        takes_value(o) ? fmt::format(":{}:_files", o->get_type_name().empty() ? "value" : zsh_quote(o->get_type_name())) : "";
    // A repeatable option (vector) may be given again; others exclude their own spellings.
    const std::string excl = repeatable(o) ? "*" : names.size() > 1 ? "(" + joined(names, " ") + ")" : "";
    if (names.size() > 1) {
      s += fmt::format("{}'{}'{{{}}}'[{}]{}' \\\n", indent, excl, joined(names, ","), help, value);
    } else {
      s += fmt::format("{}'{}{}[{}]{}' \\\n", indent, excl, names[0], help, value);
    }
  }
  for (const CLI::Option* p : positionals(a)) s += fmt::format("{}'*:{}:_files' \\\n", indent, zsh_quote(p->get_name()));
  return s;
}

// ---- roff ------------------------------------------------------------------------------------

// Text as roff: backslashes and minus signs escaped, a line starting with '.' or '\'' protected,
// and every non-ASCII character (UTF-8) written as \[uXXXX] so the page needs no preprocessor.
std::string roff(const std::string& s) {
  std::string o;
  bool line_start = true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (line_start && (c == '.' || c == '\'')) o += "\\&";
    line_start = c == '\n';
    if (c == '\\') {
      o += "\\e";
    } else if (c == '-') {
      o += "\\-";
    } else if (c < 0x80) {
      o += static_cast<char>(c);
    } else {
      const int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
      unsigned cp = extra == 3 ? c & 0x07u : extra == 2 ? c & 0x0Fu : c & 0x1Fu;
      for (int k = 0; k < extra && i + 1 < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[++i]) & 0x3Fu);
      o += extra == 0 ? std::string("?") : fmt::format("\\[u{:04X}]", cp);
    }
  }
  return o;
}

}  // namespace

std::string bash_completion(const CLI::App& app) {
  std::string cmds;
  for (const CLI::App* c : commands(app)) cmds += (cmds.empty() ? "" : " ") + c->get_name();
  std::string cases;
  for (const CLI::App* c : commands(app)) {
    cases += fmt::format("    {}) flags='{}'; valued='{}'; files={} ;;\n", c->get_name(), bash_words(*c, false),
                         bash_words(*c, true), positionals(*c).empty() ? 0 : 1);
  }
  return fmt::format(R"(# bash completion for kvscope — generated by `kvscope completion bash` from the command-line
# definition (do not edit; the build regenerates it). Installed as
# share/bash-completion/completions/kvscope.
_kvscope() {{
  local cur prev cmd="" flags valued files=0 i
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${{COMP_WORDS[i]}}" in
      -*) ;;
      *) cmd="${{COMP_WORDS[i]}}"; break ;;
    esac
  done
  case "$cmd" in
    "") COMPREPLY=($(compgen -W "{} {} --help --version" -- "$cur")); return 0 ;;
{}    *) return 0 ;;
  esac
  # After an option that takes a value: a file name (model, GPU and scenario files, outputs)
  # or whatever is typed.
  case " $valued " in
    *" $prev "*) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
  esac
  if [[ "$cur" == -* || $files == 0 ]]; then
    COMPREPLY=($(compgen -W "$flags $valued" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}}
complete -o filenames -F _kvscope kvscope
)",
                     cmds, bash_words(app, false), cases);
}

std::string zsh_completion(const CLI::App& app) {
  std::string described, cases;
  for (const CLI::App* c : commands(app)) {
    described += fmt::format("    '{}:{}'\n", c->get_name(), zsh_quote(c->get_description()));
    cases += fmt::format("        {})\n          _arguments \\\n{}            && ret=0 ;;\n", c->get_name(),
                         zsh_option_specs(*c, "            "));
  }
  return fmt::format(R"(#compdef kvscope
# zsh completion for kvscope — generated by `kvscope completion zsh` from the command-line
# definition (do not edit; the build regenerates it). Installed as share/zsh/site-functions/_kvscope.
_kvscope() {{
  local curcontext="$curcontext" state line ret=1
  local -a commands
  commands=(
{}  )
  _arguments -C \
    '(- *)'{{-h,--help}}'[print help and exit]' \
    '(- *)--version[print the version and exit]' \
    '1: :->command' \
    '*:: :->args' && ret=0
  case $state in
    command) _describe -t commands 'kvscope command' commands && ret=0 ;;
    args)
      case $line[1] in
{}      esac ;;
  esac
  return ret
}}
_kvscope "$@"
)",
                     described, cases);
}

std::string man_page(const CLI::App& app) {
  std::string s = fmt::format(
      ".\\\" Generated by `kvscope man` from the command-line definition; do not edit.\n"
      ".TH KVSCOPE 1 \"\" \"kvscope {}\" \"User Commands\"\n"
      ".SH NAME\nkvscope \\- KV-cache design-space explorer\n"
      ".SH SYNOPSIS\n.B kvscope\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n.br\n.B kvscope\n\\-\\-help | \\-\\-version\n"
      ".SH DESCRIPTION\n{}\n",
      KVSCOPE_VERSION, roff(app.get_description()));
  s += ".SH COMMANDS\n";
  for (const CLI::App* c : commands(app)) {
    std::string usage;
    for (const CLI::Option* p : positionals(*c)) usage += fmt::format(" \\fI{}\\fR...", roff(p->get_name()));
    s += fmt::format(".SS \"kvscope {}\"\n.B kvscope {}\n[\\fIOPTIONS\\fR]{}\n.PP\n{}\n", c->get_name(), c->get_name(), usage,
                     roff(c->get_description()));
    for (const CLI::Option* o : named_options(*c)) {
      if (hidden(o)) continue;  // earlier spellings: the option's text names them ("also --kv-heads")
      std::string names;
      for (const std::string& n : spellings(o)) names += (names.empty() ? "" : ", ") + fmt::format("\\fB{}\\fR", roff(n));
      if (takes_value(o)) names += fmt::format(" \\fI{}\\fR", roff(o->get_type_name().empty() ? "VALUE" : o->get_type_name()));
      s += fmt::format(".TP\n{}\n{}\n", names, roff(o->get_description()));
    }
    for (const CLI::Option* p : positionals(*c))
      s += fmt::format(".TP\n\\fI{}\\fR\n{}\n", roff(p->get_name()), roff(p->get_description()));
    const std::string footer = c->get_footer();
    if (!footer.empty()) s += ".PP\n" + roff(footer) + "\n";
  }
  s += ".SH EXIT STATUS\n"
       ".TP\n0\nsuccess (an infeasible design point is a result, not an error)\n"
       ".TP\n2\nbad input: one line on stderr naming the flag, file or key, what was expected and what was found\n"
       ".TP\n3\ninternal error\n"
       ".TP\n128 + signal\ninterrupted (130 for Ctrl\\-C); what was computed so far is written and marked partial\n"
       ".SH FILES\nModel and GPU JSON files (\\fBkvscope models\\fR, \\fBkvscope gpus\\fR list the presets); "
       "Hugging Face \\fIconfig.json\\fR files are model files.\n"
       ".SH SEE ALSO\n\\fBkvscope fields\\fR lists every design field (flag, scenario key, sweep axis) and output column; "
       "the README, docs/model.md and docs/reliability.md of the source tree.\n";
  return s;
}

}  // namespace kvscope::cli
