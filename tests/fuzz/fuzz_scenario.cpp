// Scenario loader (kvscope-scenario/1) and everything a scenario's text values go through: the
// single-point resolution (eval) and the sweep spec (axes, constraints, objectives). Model and
// GPU values that look like file paths are dropped, so the target never reads the file system.
#include "fuzz_common.hpp"
#include "kvscope/core/scenario.hpp"
#include "kvscope/explorer/explore.hpp"
#include "kvscope/explorer/scenario_sweep.hpp"

using namespace kvscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text = fuzz::as_text(data, size);
  Scenario s;
  try {
    s = parse_scenario(text, "scenario.json");
  } catch (const Error& e) {
    fuzz::check_message(e);
    return 0;
  }
  for (const char* key : {"model", "gpu"}) {
    auto it = s.values.find(key);
    if (it != s.values.end() && (it->second.find('/') != std::string::npos || it->second.find(".json") != std::string::npos)) {
      s.values.erase(it);
    }
  }
  // Round trip of the scenario writer.
  const Scenario back = parse_scenario(scenario_to_json(s), "roundtrip.json");
  if (back.constraints != s.constraints || back.objectives != s.objectives) fuzz::fail("scenario_to_json round trip");
  KVSCOPE_FUZZ_EXPECT_ERRORS({
    const SingleDesign d = resolve_single(s);
    fuzz::check_evaluation(models::evaluate(d.arch, d.gpu, d.workload));
  });
  KVSCOPE_FUZZ_EXPECT_ERRORS({
    const models::SweepSpec spec = models::sweep_spec_from_scenario(s);
    const std::uint64_t n = models::point_count(spec);
    if (n <= 8) {
      models::SweepOptions o;
      o.threads = 1;
      o.keep = models::KeepPoints::all;
      const models::SweepResult r = models::explore(spec, o);
      if (r.completed != r.total || r.evaluated + r.skipped != r.total) fuzz::fail("sweep counts do not add up");
      for (const auto& p : r.points) fuzz::check_evaluation(p.eval);
    }
  });
  return 0;
}
