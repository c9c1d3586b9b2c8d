#pragma once
// Minimal RFC 4180 CSV reading (quoted fields, embedded commas/quotes/newlines), used for the
// bundled paper tables. Errors name the source and the line.
#include <string>
#include <string_view>
#include <vector>

namespace kvscope {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // Index of a column; throws InputError naming `where` when missing.
  std::size_t column(std::string_view name, const std::string& where) const;
};

CsvTable parse_csv(std::string_view text, const std::string& where);
// RFC 4180 quoting of one field for output.
std::string csv_escape(std::string_view field);

}  // namespace kvscope
