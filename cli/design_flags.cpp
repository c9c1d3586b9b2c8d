#include "design_flags.hpp"

#include <fmt/format.h>

#include "kvscope/core/design_fields.hpp"

namespace kvscope::cli {

void add_design_flags(CLI::App* sub, DesignFlags& f, bool lists) {
  sub->add_option("--scenario", f.scenario_file, "scenario JSON (kvscope-scenario/1); flags override it");
  // One flag per design field (core/design_fields.hpp), and one hidden flag per earlier spelling:
  // values are kept under the spelling typed, so messages name the flag the user wrote.
  for (const DesignField& d : design_fields()) {
    std::string help(d.description);
    if (!d.default_text.empty()) help += fmt::format(" [{}]", d.default_text);
    for (std::string_view a : d.aliases) help += fmt::format(" (also {})", flag_of(a));
    if (lists && d.sweepable) help += " — list '1,2,4' or range '1..8', '1024..131072:x2'";
    auto add = [&](const std::string& spelling, const std::string& text) {
      CLI::Option* o = sub->add_option_function<std::string>(
          flag_of(spelling), [&f, spelling](const std::string& v) { f.values.emplace_back(spelling, v); }, text);
      return o;
    };
    add(std::string(d.name), help);
    for (std::string_view a : d.aliases) add(std::string(a), "")->group("");
  }
}

void add_output_flags(CLI::App* sub, OutputFlags& f, const std::string& formats) {
  sub->add_option("--format", f.format, formats + " [table]");
  sub->add_option("-o,--output", f.output, "write here (atomically) instead of stdout");
}

void add_sweep_run_flags(CLI::App* sub, SweepRunFlags& f, const std::string& what) {
  sub->add_option("--threads", f.threads, "worker threads, at most 4 x the hardware threads [all cores]");
  sub->add_flag("-q,--quiet", f.quiet, "no progress or size notes on stderr");
  sub->add_option("--max-points", f.max_points, fmt::format("refuse {} larger than this [{}]", what, f.max_points));
}

Scenario to_scenario(const DesignFlags& f) {
  Scenario s = f.scenario_file.empty() ? Scenario{} : load_scenario(f.scenario_file);
  for (const auto& [k, v] : f.values) s.set(k, v);
  if (!f.constraints.empty()) s.constraints = f.constraints;
  if (!f.objectives.empty()) s.objectives = f.objectives;
  if (f.scenario_file.empty()) s.source = "flags";
  return s;
}

}  // namespace kvscope::cli
