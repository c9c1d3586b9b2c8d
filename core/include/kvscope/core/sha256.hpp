#pragma once
// SHA-256 (FIPS 180-4) of a byte string, as lowercase hex — provenance hashes of the files a
// calibration was fitted on.
#include <string>
#include <string_view>

namespace kvscope {
std::string sha256_hex(std::string_view data);
}
