// Shell completion and the man page (cli/cli_docs.*, cli/cmd_completion.cpp): generated from the
// CLI11 definition, every command and flag in them, the build's files equal to what the binary
// prints, the bash script completes, the man page is clean roff, and install() puts them where
// bash-completion, zsh and man look.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace fs = std::filesystem;

namespace {

// The subcommands `kvscope --help` lists.
std::vector<std::string> subcommands() {
  const CliResult h = run_kvscope({"--help"});
  REQUIRE(h.status == 0);
  std::vector<std::string> out;
  const std::string text = h.out.substr(h.out.find("Subcommands:"));
  const std::regex row("\n  ([a-z][a-z-]*) ");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), row); it != std::sregex_iterator(); ++it) out.push_back((*it)[1]);
  return out;
}

// Every flag a command's --help lists, and the earlier spellings its design flags accept
// (hidden from --help, listed by `kvscope fields`).
std::set<std::string> flags_of(const std::string& cmd) {
  const CliResult h = run_kvscope({cmd, "--help"});
  REQUIRE(h.status == 0);
  std::set<std::string> out;
  // A help row starts "  -o,--output TEXT ..." or "  --model TEXT ...": the names before the first space.
  std::istringstream lines(h.out.substr(h.out.find("Options:")));
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind("  -", 0) != 0) continue;
    std::istringstream names(l.substr(2, l.find(' ', 2) - 2));
    for (std::string n; std::getline(names, n, ',');) out.insert(n);
  }
  if (out.count("--n-kv-heads")) {
    const boost::json::value j = boost::json::parse(run_kvscope({"fields", "--format", "json"}).out);
    for (const auto& d : j.at("design_fields").as_array()) {
      for (const auto& a : d.at("aliases").as_array()) {
        std::string f = "--" + std::string(a.as_string());
        for (char& c : f) c = c == '_' ? '-' : c;
        out.insert(f);
      }
    }
  }
  return out;
}

// The roff spelling of a flag in the man page (minus signs escaped).
std::string roff_flag(const std::string& f) {
  std::string o;
  for (char c : f) o += c == '-' ? std::string("\\-") : std::string(1, c);
  return o;
}

}  // namespace

TEST_CASE("completion and man page hold every command and flag of the CLI definition", "[cli][completion]") {
  const std::vector<std::string> cmds = subcommands();
  REQUIRE(cmds.size() >= 12);
  const CliResult bash = run_kvscope({"completion", "bash"});
  const CliResult zsh = run_kvscope({"completion", "zsh"});
  const CliResult man = run_kvscope({"man"});
  REQUIRE(bash.status == 0);
  REQUIRE(zsh.status == 0);
  REQUIRE(man.status == 0);
  std::size_t flags_checked = 0;
  for (const std::string& c : cmds) {
    INFO(c);
    CHECK_THAT(bash.out, Catch::Contains("    " + c + ") flags="));
    CHECK_THAT(zsh.out, Catch::Contains("    '" + c + ":") && Catch::Contains("        " + c + ")\n"));
    CHECK_THAT(man.out, Catch::Contains(".SS \"kvscope " + c + "\""));
    // The command's section of each file.
    const std::string b = bash.out.substr(bash.out.find("    " + c + ") flags="));
    const std::string bline = b.substr(0, b.find('\n'));
    const std::string z = zsh.out.substr(zsh.out.find("        " + c + ")\n"));
    const std::string zsec = z.substr(0, z.find("&& ret=0"));
    const std::string m = man.out.substr(man.out.find(".SS \"kvscope " + c + "\""));
    const std::string msec = m.substr(0, m.find(".SS", 3));
    const std::set<std::string> flags = flags_of(c);
    CHECK(flags.count("--help") == 1);
    for (const std::string& f : flags) {
      INFO(f);
      CHECK_THAT(bline, Catch::Contains(" " + f + " ") || Catch::Contains("'" + f + " ") || Catch::Contains(" " + f + "'") ||
                            Catch::Contains("'" + f + "'"));
      CHECK_THAT(zsec, Catch::Contains(f + "[") || Catch::Contains("," + f + "}") || Catch::Contains("{" + f + ","));
      CHECK_THAT(msec, Catch::Contains(roff_flag(f)));
      ++flags_checked;
    }
  }
  CHECK(flags_checked > 300);
  // The generators themselves stay out of --help and of what they list.
  CHECK_THAT(run_kvscope({"--help"}).out, !Catch::Contains("completion") && !Catch::Contains("\n  man "));
  CHECK_THAT(bash.out, !Catch::Contains("    completion)"));
}

TEST_CASE("the build's completion files and man page are what the binary prints; install() puts them in place",
          "[cli][completion]") {
  const std::string dir = KVSCOPE_CLI_DOCS_DIR;
  struct Row {
    std::vector<std::string> args;
    const char* built;
    const char* installed;
  };
  const Row rows[] = {
      {{"completion", "bash"}, "kvscope.bash", "share/bash-completion/completions/kvscope"},
      {{"completion", "zsh"}, "_kvscope", "share/zsh/site-functions/_kvscope"},
      {{"man"}, "kvscope.1", "share/man/man1/kvscope.1"},
  };
  const std::string prefix = temp_dir();
  const std::string install = "cmake --install '" + std::string(KVSCOPE_BINARY_DIR) + "' --prefix '" + prefix + "' >/dev/null";
  REQUIRE(std::system(install.c_str()) == 0);
  for (const Row& row : rows) {
    INFO(row.built);
    const CliResult r = run_kvscope(row.args);
    REQUIRE(r.status == 0);
    CHECK(slurp(dir + "/" + row.built) == r.out);
    CHECK(slurp(prefix + "/" + row.installed) == r.out);
  }
  fs::remove_all(prefix);
  // Bad shells are usage errors.
  const CliResult bad = run_kvscope({"completion", "fish"});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("fish"));
}

TEST_CASE("the bash script completes commands, flags and files; the man page is clean roff", "[cli][completion]") {
  const std::string script = std::string(KVSCOPE_CLI_DOCS_DIR) + "/kvscope.bash";
  struct Row {
    const char* words;  // COMP_WORDS, the last being completed
    const char* want;   // a word COMPREPLY holds
    const char* not_want;
  };
  const Row rows[] = {
      {"kvscope sw", "sweep", "eval"},
      {"kvscope co", "compare", "sweep"},
      {"kvscope sweep --kv-h", "--kv-heads", "--batch"},
      {"kvscope pareto --include", "--include-infeasible", "--kv-heads"},
      {"kvscope eval --per", "--per-layer", "--plot"},
      {"kvscope sweep --pl", "--plot-x", "--per-layer"},
      {"kvscope eval --model {DIR}/kvscope.b", "{DIR}/kvscope.bash", "--model"},
      {"kvscope --v", "--version", "sweep"},
  };
  for (const Row& row : rows) {
    auto fill = [&](std::string s) {
      for (std::size_t at; (at = s.find("{DIR}")) != std::string::npos;) s.replace(at, 5, KVSCOPE_CLI_DOCS_DIR);
      return s;
    };
    const std::string out = temp_dir() + "/reply";
    const std::string cmd = "bash -c 'source \"" + script + "\"; COMP_WORDS=(" + fill(row.words) +
                            "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _kvscope; printf \"%s\\n\" \"${COMPREPLY[@]}\"' > '" +
                            out + "'";
    INFO(row.words);
    REQUIRE(std::system(cmd.c_str()) == 0);
    const std::string reply = "\n" + slurp(out);
    CHECK_THAT(reply, Catch::Contains("\n" + fill(row.want) + "\n") && !Catch::Contains("\n" + fill(row.not_want) + "\n"));
  }
  // groff reads the page without a warning (-ww: all warnings; -z: no output).
  if (std::system("command -v groff >/dev/null") != 0) {
    WARN("groff not installed: roff check skipped");
    return;
  }
  const std::string err = temp_dir() + "/groff.err";
  REQUIRE(std::system(
              ("groff -man -Tutf8 -ww -z '" + std::string(KVSCOPE_CLI_DOCS_DIR) + "/kvscope.1' 2>'" + err + "'").c_str()) == 0);
  CHECK(slurp(err).empty());
}
