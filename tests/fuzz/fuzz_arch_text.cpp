// The architecture text parsers: the CLA paper's variant names ("H128-GQA4-CLA2-KeepEnds"),
// producer lists ("0,0,2,2" / "0_0_2_2"), named sharing patterns and layer patterns ("LLLLLG").
// Byte 0 picks the parser, byte 1 the base model / layer count, the rest is the text. Whatever
// is accepted must validate and evaluate to finite numbers.
#include "fuzz_common.hpp"

using namespace kvscope;

namespace {
const Architecture& base(std::uint8_t b) {
  static const Architecture models[] = {load_architecture("cla-paper-1b"), load_architecture("llama-3-8b"),
                                        load_architecture("gemma-2-9b"), load_architecture("deepseek-v3")};
  return models[b % 4];
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string text = fuzz::as_text(data + 2, size - 2);
  const int n_layers = 1 + data[1] % 64;
  KVSCOPE_FUZZ_EXPECT_ERRORS({
    switch (data[0] % 4) {
      case 0: {
        Architecture a = base(data[1]);
        apply_variant(a, text, "--variant");
        validate(a, "--variant");
        fuzz::evaluate_and_check(a, fuzz::h100());
        break;
      }
      case 1: {
        const std::vector<int> p = parse_producer_list(text, "--kv-producers");
        for (std::size_t i = 0; i < p.size(); ++i) {
          if (p[i] < 0) fuzz::fail("negative producer accepted");
        }
        // Use it as the producer map of a model with that many layers.
        Architecture a = base(0);
        if (p.empty() || p.size() > 10000) break;
        a.n_layers = static_cast<int>(p.size());
        a.kv_producer = p;
        a.layer_kind.assign(p.size(), LayerKind::global);
        a.sharing = sharing_label(a);
        validate(a, "--kv-producers");
        for (std::size_t i = 0; i < p.size(); ++i) {
          if (p[i] > static_cast<int>(i)) fuzz::fail("validate accepted a forward producer");
        }
        fuzz::evaluate_and_check(a, fuzz::h100());
        break;
      }
      case 2: {
        const std::vector<int> p = named_pattern_producers(text, n_layers, "--kv-producers");
        if (static_cast<int>(p.size()) != n_layers) fuzz::fail("pattern has the wrong length");
        for (int i = 0; i < n_layers; ++i) {
          if (p[i] < 0 || p[i] > i) fuzz::fail("pattern points forward");
        }
        break;
      }
      default: {
        const std::vector<LayerKind> k = expand_layer_pattern(text, n_layers, "--layer-pattern");
        if (static_cast<int>(k.size()) != n_layers) fuzz::fail("layer pattern has the wrong length");
        break;
      }
    }
  });
  return 0;
}
