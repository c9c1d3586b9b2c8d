#pragma once
// The design-point flags shared by eval, sweep, pareto and explore, mapped 1:1 onto Scenario
// fields (`--kv-heads` <-> "kv_heads").
#include <CLI/CLI.hpp>

#include <map>
#include <string>

#include "kvscope/core/scenario.hpp"

namespace kvscope::cli {

struct DesignFlags {
  std::map<std::string, std::string> values;
  std::string scenario_file;
  std::vector<std::string> constraints;
  std::string objectives;
};

// `lists` adds the "(list or range)" wording to the help text.
void add_design_flags(CLI::App* sub, DesignFlags& flags, bool lists);
// --scenario FILE first, then every flag given on the command line overrides it.
Scenario to_scenario(const DesignFlags& flags);

}  // namespace kvscope::cli
