// Model file loader: parse_json_text + parse_architecture (kvscope-model/1, which validates) or,
// for a Hugging Face config.json, parse_hf_config (the dispatch load_architecture makes).
// An accepted model must round-trip through to_json and evaluate to finite, non-negative numbers.
#include "fuzz_common.hpp"
#include "kvscope/core/hf_config.hpp"
#include "kvscope/core/json_util.hpp"

using namespace kvscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text = fuzz::as_text(data, size);
  Architecture arch;
  try {
    const boost::json::value v = parse_json_text(text, "fuzz.json");
    arch = is_hf_config(v) ? parse_hf_config(v, "fuzz.json") : parse_architecture(v, "fuzz.json", true);
  } catch (const Error& e) {
    fuzz::check_message(e);
    return 0;
  }
  // Round trip: what to_json writes must load again, to the same shape.
  const Architecture back = parse_architecture(to_json(arch), "roundtrip.json");
  if (back.n_layers != arch.n_layers || back.n_kv_heads != arch.n_kv_heads || back.kv_producer != arch.kv_producer ||
      back.layer_kind != arch.layer_kind || back.kv_dtype != arch.kv_dtype) {
    fuzz::fail("to_json/parse_architecture round trip changed the model");
  }
  fuzz::evaluate_and_check(arch, fuzz::h100());
  return 0;
}
