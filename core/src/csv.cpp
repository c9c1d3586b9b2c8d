#include "kvscope/core/csv.hpp"

#include <fmt/format.h>

#include "kvscope/core/error.hpp"

namespace kvscope {

std::size_t CsvTable::column(std::string_view name, const std::string& where) const {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  throw InputError(where, std::string(name), "a CSV column of that name", "no such column");
}

CsvTable parse_csv(std::string_view text, const std::string& where) {
  CsvTable t;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool field_started = false;
  std::size_t line = 1;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_row = [&] {
    end_field();
    if (!(row.size() == 1 && row[0].empty())) {
      if (t.header.empty()) {
        t.header = std::move(row);
      } else {
        if (row.size() != t.header.size()) {
          throw InputError(where, fmt::format("line {}", line), fmt::format("{} fields", t.header.size()),
                           fmt::format("{} fields", row.size()));
        }
        t.rows.push_back(std::move(row));
      }
    }
    row.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n') {
      end_row();
      ++line;
    } else if (c != '\r') {
      field += c;
      field_started = true;
    }
  }
  if (quoted) throw InputError(where, fmt::format("line {}", line), "a closing quote", "end of file");
  if (field_started || !row.empty()) end_row();
  if (t.header.empty()) throw InputError(where, "", "a CSV header line", "an empty file");
  return t;
}

std::string csv_escape(std::string_view f) {
  if (f.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(f);
  std::string out = "\"";
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace kvscope
