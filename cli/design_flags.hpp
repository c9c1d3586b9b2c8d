#pragma once
// The design-point flags shared by eval, sweep, pareto and explore, generated from the design
// field registry (core/design_fields.hpp): `--n-kv-heads` <-> "n_kv_heads", and the earlier
// spellings (`--kv-heads`) as hidden aliases.
#include <CLI/CLI.hpp>

#include <utility>
#include <vector>
#include <string>

#include "kvscope/core/scenario.hpp"

namespace kvscope::cli {

struct DesignFlags {
  std::vector<std::pair<std::string, std::string>> values;  // (spelling typed, text), in parse order
  std::string scenario_file;
  std::vector<std::string> constraints;
  std::string objectives;
};

// `lists` adds the "(list or range)" wording to the help text.
void add_design_flags(CLI::App* sub, DesignFlags& flags, bool lists);
// --scenario FILE first, then every flag given on the command line overrides it.
Scenario to_scenario(const DesignFlags& flags);

}  // namespace kvscope::cli
