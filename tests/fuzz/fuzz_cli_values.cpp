// CLI / scenario field values: lines "name=value" (e.g. "kv_heads=3", "batch=1e400") go through
// set_override / set_workload exactly as `kvscope eval` flags do, then apply_overrides on a base
// preset (byte 0 picks it), validate and evaluate. Also the plain value parsers.
#include <string>

#include "fuzz_common.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/scenario.hpp"

using namespace kvscope;

namespace {
const Architecture& base(std::uint8_t b) {
  static const Architecture models[] = {load_architecture("llama-3-8b"),  load_architecture("cla-paper-1b"),
                                        load_architecture("gemma-2-9b"),  load_architecture("mixtral-8x7b"),
                                        load_architecture("deepseek-v3"), load_architecture("llama-3-70b")};
  return models[b % 6];
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string text = fuzz::as_text(data + 1, size - 1);
  // The plain parsers on the whole text.
  KVSCOPE_FUZZ_EXPECT_ERRORS({
    const std::int64_t v = parse_int_value(text, "--batch", 1, 1000000);
    if (v < 1 || v > 1000000) fuzz::fail("parse_int_value out of bounds");
  });
  KVSCOPE_FUZZ_EXPECT_ERRORS({
    const double v = parse_double_value(text, "--tpot-limit-ms", 0, 1e9);
    if (!std::isfinite(v) || v < 0 || v > 1e9) fuzz::fail("parse_double_value out of bounds");
  });
  KVSCOPE_FUZZ_EXPECT_ERRORS((void)parse_kv_dtype(text, "--kv-dtype"));
  KVSCOPE_FUZZ_EXPECT_ERRORS((void)parse_runtime(text, "--runtime"));
  KVSCOPE_FUZZ_EXPECT_ERRORS((void)parse_mlp_kind(text, "mlp"));

  ArchOverrides o;
  Workload w;
  KVSCOPE_FUZZ_EXPECT_ERRORS({
    std::size_t b = 0;
    while (b < text.size()) {
      const std::size_t e = std::min(text.find('\n', b), text.size());
      const std::string line = text.substr(b, e - b);
      b = e + 1;
      const std::size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string name = line.substr(0, eq), value = line.substr(eq + 1);
      if (is_arch_field(name))
        set_override(o, name, value);
      else if (is_workload_field(name))
        set_workload(w, name, value);
      else if (is_engine_field(name))
        set_engine_field(w.engine, name, value);
    }
    validate(w, "flags");
    const Architecture a = apply_overrides(base(data[0]), o, "flags");
    fuzz::check_evaluation(models::evaluate(a, fuzz::h100(), w));
  });
  return 0;
}
