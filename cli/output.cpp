#include "output.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/format.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/output_file.hpp"
#include "kvscope/core/units.hpp"

namespace kvscope::cli {

Format parse_format(const std::string& t) {
  if (t == "table") return Format::table;
  if (t == "json") return Format::json;
  if (t == "csv") return Format::csv;
  throw InputError("--format", "", "table, json or csv", fmt::format("'{}'", t));
}

std::string human_bytes_short(double b) {
  return format_bytes(b);
}

std::string human_bytes(double b) {
  if (!std::isfinite(b)) return "n/a";
  if (std::abs(b) < 1024) return fmt::format("{:.0f} B", b);
  const double gb = b / units::kGB;
  std::string dec = std::abs(gb) >= 1           ? fmt::format("{:.2f} GB", gb)
                    : std::abs(b) >= units::kMB ? fmt::format("{:.2f} MB", b / units::kMB)
                                                : fmt::format("{:.2f} kB", b / units::kKB);
  return fmt::format("{} ({})", dec, human_bytes_short(b));
}

std::string human_time(double s) {
  return format_time(s);
}

std::string human_count(double n) {
  return format_count(n);
}

std::string human_rate(double v, const char* unit) {
  return format_rate(v, unit);
}

std::string human_field(const models::Field& f, double v) {
  // A fraction without a unit reads as a percentage in tables.
  if (f.name == "bandwidth_fraction" && std::isfinite(v)) return fmt::format("{:.1f} %", v * 100);
  return format_value(v, std::string(f.unit));
}

namespace {
void pretty(const boost::json::value& v, std::string& out, int indent) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  switch (v.kind()) {
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      std::size_t i = 0;
      for (const auto& kv : o) {
        out += pad + "  " + boost::json::serialize(boost::json::value(kv.key())) + ": ";
        pretty(kv.value(), out, indent + 2);
        out += ++i < o.size() ? ",\n" : "\n";
      }
      out += pad + "}";
      return;
    }
    case boost::json::kind::array: {
      const auto& a = v.get_array();
      bool scalars = true;
      for (const auto& e : a) scalars = scalars && !e.is_object() && !e.is_array();
      if (a.empty() || (scalars && a.size() <= 64)) {
        out += boost::json::serialize(v);
        return;
      }
      out += "[\n";
      for (std::size_t i = 0; i < a.size(); ++i) {
        out += pad + "  ";
        pretty(a[i], out, indent + 2);
        out += i + 1 < a.size() ? ",\n" : "\n";
      }
      out += pad + "]";
      return;
    }
    default:
      out += boost::json::serialize(v);
  }
}
}  // namespace

std::string pretty_json(const boost::json::value& v) {
  std::string out;
  pretty(v, out, 0);
  out += "\n";
  return out;
}

std::string& recorded_command_line() {
  static std::string cmd;
  return cmd;
}

std::string command_line_of(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    if (i) s += ' ';
    s += argv[i];
  }
  return s;
}

boost::json::object provenance_json(const std::string& command_line) {
  boost::json::object o;
  o["tool"] = "kvscope";
  o["version"] = KVSCOPE_VERSION;
  o["command"] = command_line;
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  o["date_utc"] = buf;
  return o;
}

Table::Table(std::vector<std::string> header, std::vector<bool> right_align)
    : header_(std::move(header)), right_(std::move(right_align)) {
  right_.resize(header_.size(), false);
}

void Table::add(std::vector<std::string> row) {
  row.resize(header_.size());
  // Cells quote names from input files and flags: no control character reaches the terminal and
  // a 100,000-character name does not make a 100,000-column table.
  for (auto& cell : row) cell = display_text(cell, kMaxCellChars);
  rows_.push_back(std::move(row));
}

namespace {
// Display width: count UTF-8 code points, not bytes (µ, –).
std::size_t width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80 ? 1 : 0;
  return w;
}
}  // namespace

std::string Table::str() const {
  std::vector<std::size_t> w(header_.size());
  for (std::size_t c = 0; c < header_.size(); ++c) w[c] = width(header_[c]);
  for (const auto& r : rows_) {
    for (std::size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], width(r[c]));
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (std::size_t c = 0; c < r.size(); ++c) {
      const std::string pad(w[c] - width(r[c]), ' ');
      s += right_[c] ? pad + r[c] : r[c] + (c + 1 < r.size() ? pad : "");
      if (c + 1 < r.size()) s += "  ";
    }
    return s + "\n";
  };
  std::string out = line(header_);
  std::string rule;
  for (std::size_t c = 0; c < w.size(); ++c) rule += std::string(w[c], '-') + (c + 1 < w.size() ? "  " : "");
  out += rule + "\n";
  for (const auto& r : rows_) out += line(r);
  return out;
}

void emit(const std::string& text, const std::string& path) {
  write_output(path, text);
}

void emit_text(const std::string& text, const std::string& path) {
  write_output(path, terminal_safe(text));
}

// Per-op predicted costs of a phase (eval's decode_ops / prefill_ops, validate's predicted_ops).
boost::json::object ops_json(const models::PhaseCost& ph) {
  boost::json::object o;
  for (int i = 0; i < models::kOpCount; ++i) {
    const auto& c = ph.ops[static_cast<std::size_t>(i)];
    if (c.kernels == 0) continue;
    o[models::op_name(static_cast<models::Op>(i))] = {{"time_s", json_number(c.time_s)},
                                                      {"bytes", json_number(c.bytes)},
                                                      {"flops", json_number(c.flops)},
                                                      {"kernels", json_number(c.kernels)},
                                                      {"launch_s", json_number(c.launch_s)},
                                                      {"bound", c.compute_bound() ? "compute" : "memory"},
                                                      {"share", json_number(c.time_s / ph.time_s)}};
  }
  return o;
}

}  // namespace kvscope::cli
