#pragma once
// Files from data/ compiled into the binary (see data/CMakeLists.txt).
#include <string_view>
#include <vector>

namespace kvscope {

struct EmbeddedFile {
  std::string_view path;  // relative to data/, e.g. "models/llama-3-8b.json"
  std::string_view content;
};

const std::vector<EmbeddedFile>& embedded_files();

}  // namespace kvscope
