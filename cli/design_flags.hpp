#pragma once
// The design-point flags shared by eval, sweep, pareto and explore, generated from the design
// field registry (core/design_fields.hpp): `--n-kv-heads` <-> "n_kv_heads", and the earlier
// spellings (`--kv-heads`) as hidden aliases.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

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

// What a command writes and where: --format and -o,--output (eval, sweep, pareto, explore,
// compare). `formats` is the help's list ("table, csv or json").
struct OutputFlags {
  std::string format = "table";
  std::string output;
};
void add_output_flags(CLI::App* sub, OutputFlags& flags, const std::string& formats);

// How a command that sweeps runs: --threads, -q,--quiet and --max-points (its default is the
// value `flags.max_points` holds when called).
struct SweepRunFlags {
  unsigned threads = 0;
  bool quiet = false;
  std::uint64_t max_points = 0;
};
void add_sweep_run_flags(CLI::App* sub, SweepRunFlags& flags, const std::string& what);

}  // namespace kvscope::cli
