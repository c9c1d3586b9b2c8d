#pragma once
// Output formatting for the CLI: human units, aligned tables, pretty JSON, CSV, provenance.
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "kvscope/core/json_util.hpp"
#include "kvscope/models/fields.hpp"
#include "kvscope/models/timing.hpp"

namespace kvscope::cli {

enum class Format { table, json, csv };
Format parse_format(const std::string& text);

std::string human_bytes(double bytes);                      // "1.07 GB (1.00 GiB)"
std::string human_bytes_short(double bytes);                // "1.00 GiB" (kvscope::format_bytes, shared with the GUI)
std::string human_time(double seconds);                     // "12.3 µs", "4.56 ms", "1.20 s"
std::string human_count(double n);                          // "8.03 B", "512", "1.2 M" (kvscope::format_count)
std::string human_rate(double per_s, const char* unit);     // "1,234 tokens/s"
std::string human_field(const models::Field& f, double v);  // by the field's unit

// JSON number that is null when not finite (no NaN/inf ever reaches an output): core/json_util.hpp.
using kvscope::json_number;
std::string pretty_json(const boost::json::value& v);
// Per-op predicted costs of a phase: time, bytes, FLOPs, kernels, launch part, bound, share.
boost::json::object ops_json(const models::PhaseCost& ph);

// {"tool": "kvscope", "version": ..., "command": ..., "date_utc": ...}
boost::json::object provenance_json(const std::string& command_line);
std::string command_line_of(int argc, char** argv);
std::string& recorded_command_line();  // set by main, read by commands

// Longest table cell, in code points: longer ones are elided in the middle (display.hpp).
inline constexpr std::size_t kMaxCellChars = 120;

class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> right_align = {});
  void add(std::vector<std::string> row);
  std::string str() const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// Writes to stdout when path is empty or "-", else to the file, through kvscope::OutputFile
// (core/output_file.hpp: checked writes, atomic replacement, devices and FIFOs in place).
void emit(const std::string& text, const std::string& path);
// Human-readable text (tables, reports): like emit, with every control character but '\n'
// escaped (terminal_safe), since names and paths in it come from input.
void emit_text(const std::string& text, const std::string& path);

}  // namespace kvscope::cli
