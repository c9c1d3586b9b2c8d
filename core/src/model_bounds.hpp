#pragma once
// Bounds of a model description, shared by the kvscope-model/1 loader (loaders.cpp) and the
// Hugging Face config.json mapping (hf_config.cpp): far above any real model, low enough that
// products of them (layers x heads x head_dim x 2 x bytes) stay exact in a double. loaders.hpp
// explains each.
#include <cstdint>

namespace kvscope::model_bounds {
constexpr std::int64_t kMaxLayers = 10000;
constexpr std::int64_t kMaxDModel = 1000000;
constexpr std::int64_t kMaxHeads = 65536;
constexpr std::int64_t kMaxHeadDim = 65536;
constexpr std::int64_t kMaxVocab = 100000000;
constexpr std::int64_t kMaxFfn = 10000000;
constexpr std::int64_t kMaxExperts = 100000;
constexpr std::int64_t kMaxWindow = 100000000;
constexpr std::int64_t kMaxQuantGroup = 65536;
constexpr double kMaxParams = 1e15;
}  // namespace kvscope::model_bounds
