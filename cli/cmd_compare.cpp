// `kvscope compare`: two to four design points side by side, each the common design flags plus
// its own --design 'field=value,...' (any design field, any spelling, one value each), with every
// number's change relative to the first design. The records are the point records eval and
// sweep write (writers.hpp), so a column means the same thing everywhere.
#include <fmt/format.h>

#include <cmath>

#include "command.hpp"
#include "design_flags.hpp"
#include "design_point.hpp"
#include "kvscope/core/csv.hpp"
#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/output_file.hpp"
#include "kvscope/models/fields.hpp"
#include "output.hpp"
#include "writers.hpp"

namespace kvscope::cli {
namespace {

constexpr std::size_t kMinDesigns = 2, kMaxDesigns = 4;

struct CompareOptions {
  DesignFlags design;  // common to every design
  std::vector<std::string> designs;
  OutputFlags out;
  bool only_changed = false;
};

// "kv_heads=8,cla=2" -> {("kv_heads", "8"), ("cla", "2")}. An item without '=' continues the
// value before it, so a producer map or a list reads as written ("kv_producers=0,0,2,2"; a list
// is then refused by the field as "a single value here"). Keys are design-field spellings.
std::vector<std::pair<std::string, std::string>> parse_design(const std::string& text, const std::string& where) {
  const std::string expected = "design fields as 'field=value,...', e.g. 'kv_heads=8,cla=2' (`kvscope fields` lists them)";
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos) {
      if (out.empty()) throw InputError(where, "", expected, fmt::format("'{}'", display_text(text, 200)));
      out.back().second += "," + item;
    } else {
      std::string key = item.substr(0, eq);
      const DesignField& f = design_field(key);  // "--key: expected a design field ..."
      (void)f;
      if (key.rfind("--", 0) == 0) key.erase(0, 2);
      for (char& c : key) c = c == '-' ? '_' : c;
      if (key.empty()) throw InputError(where, "", expected, fmt::format("'{}'", display_text(text, 200)));
      out.emplace_back(key, item.substr(eq + 1));
    }
    start = end + 1;
  }
  return out;
}

// A message about design k names it ("--design 2 'kv_heads=3': --kv-heads: expected ...").
std::string design_where(std::size_t k, const std::string& text) {
  return fmt::format("--design {} '{}'", k + 1, display_text(text, 200));
}

std::vector<std::unique_ptr<DesignPoint>> evaluate_designs(const CompareOptions& o) {
  if (o.designs.size() < kMinDesigns || o.designs.size() > kMaxDesigns) {
    throw InputError("--design", "",
                     fmt::format("{} to {} designs (one --design 'field=value,...' each)", kMinDesigns, kMaxDesigns),
                     std::to_string(o.designs.size()));
  }
  const Scenario common = to_scenario(o.design);
  std::vector<std::unique_ptr<DesignPoint>> points;
  for (std::size_t k = 0; k < o.designs.size(); ++k) {
    const std::string where = design_where(k, o.designs[k]);
    try {
      Scenario s = common;
      for (const auto& [key, value] : parse_design(o.designs[k], where)) s.set(key, value);
      points.push_back(evaluate_design(s));
    } catch (const InputError& e) {
      if (std::string_view(e.what()).rfind(where, 0) == 0) throw;
      InputError named(fmt::format("{}: {}", where, e.what()));
      named.set_field(e.field());
      throw named;
    } catch (const IoError& e) {
      throw IoError(fmt::format("{}: {}", where, e.what()));
    }
  }
  return points;
}

// The change of a number against the first design's: "+12.5 %" relative, or in percentage
// points for a field that is itself a percentage ("+1.14 pp"); "" when equal, "changed" when
// there is no ratio (the first is 0 or not a number).
std::string change_text(const models::Field& f, double first, double v) {
  if (v == first || (std::isnan(v) && std::isnan(first))) return "";
  if (f.unit == "%" && std::isfinite(first) && std::isfinite(v)) return fmt::format("{:+.2f} pp", v - first);
  if (!std::isfinite(first) || !std::isfinite(v) || first == 0) return "changed";
  return fmt::format("{:+.1f} %", 100 * (v / first - 1));
}
// The same as a JSON number (fraction), null without a ratio.
boost::json::value relative_change(double first, double v) {
  if (!std::isfinite(first) || !std::isfinite(v) || first == 0) return nullptr;
  return json_number(v / first - 1);
}

void run_compare(const CompareOptions& o) {
  const Format format = parse_format(o.out.format);
  check_output_target(o.out.output);
  const auto points = evaluate_designs(o);
  std::vector<Record> records;
  for (const auto& p : points) records.push_back(p->record());
  const std::size_t n = records.size();
  const std::size_t cells = records[0].size();
  // Row r differs when any design's value differs from the first's.
  auto differs = [&](std::size_t r) {
    for (std::size_t k = 1; k < n; ++k) {
      if (records[k][r].text != records[0][r].text) return true;
    }
    return false;
  };
  const models::Field* field_of_row = nullptr;
  auto number = [&](std::size_t k, std::size_t r) -> double {
    field_of_row = models::find_field(records[k][r].name);
    return field_of_row ? field_of_row->get(points[k]->point) : NAN;
  };

  if (format == Format::json) {
    boost::json::object j;
    j["provenance"] = provenance_json(recorded_command_line());
    boost::json::array designs, changes;
    for (std::size_t k = 0; k < n; ++k) {
      boost::json::object d{{"design", o.designs[k]}};
      for (const Cell& c : records[k]) d[c.name] = c.json;
      designs.push_back(std::move(d));
    }
    for (std::size_t k = 1; k < n; ++k) {
      boost::json::object fields;
      for (std::size_t r = 0; r < cells; ++r) {
        if (records[k][r].text == records[0][r].text || records[k][r].name == "index") continue;
        const double a = number(0, r), b = number(k, r);
        if (field_of_row) {
          fields[records[k][r].name] = {{"from", records[0][r].json},
                                        {"to", records[k][r].json},
                                        {"delta", json_number(b - a)},
                                        {"relative", relative_change(a, b)}};
        } else {
          fields[records[k][r].name] = {{"from", records[0][r].json}, {"to", records[k][r].json}};
        }
      }
      changes.push_back({{"design", o.designs[k]}, {"relative_to", o.designs[0]}, {"changes", std::move(fields)}});
    }
    j["designs"] = std::move(designs);
    j["changes"] = std::move(changes);
    emit(pretty_json(j), o.out.output);
    return;
  }
  if (format == Format::csv) {
    // Side by side, one row per column of the point record: field, design_1..n, then the
    // relative change (a fraction) of designs 2..n against the first.
    std::string s = fmt::format("# kvscope {} compare — {}\n", KVSCOPE_VERSION, display_text(recorded_command_line(), 4000));
    for (std::size_t k = 0; k < n; ++k) s += fmt::format("# design_{}: {}\n", k + 1, display_text(o.designs[k], 400));
    s += "field";
    for (std::size_t k = 0; k < n; ++k) s += fmt::format(",design_{}", k + 1);
    for (std::size_t k = 1; k < n; ++k) s += fmt::format(",change_{}", k + 1);
    s += "\n";
    for (std::size_t r = 0; r < cells; ++r) {
      if (o.only_changed && !differs(r)) continue;
      s += records[0][r].name;
      for (std::size_t k = 0; k < n; ++k) s += "," + records[k][r].text;
      for (std::size_t k = 1; k < n; ++k) {
        const double a = number(0, r), b = number(k, r);
        const boost::json::value c = field_of_row ? relative_change(a, b) : boost::json::value(nullptr);
        s += "," + (c.is_null() ? std::string() : boost::json::serialize(c));
      }
      s += "\n";
    }
    emit(s, o.out.output);
    return;
  }
  std::vector<std::string> head = {"field"};
  std::vector<bool> right = {false};
  for (std::size_t k = 0; k < n; ++k) {
    head.push_back(fmt::format("{}: {}", k + 1, o.designs[k]));
    right.push_back(true);
  }
  Table t(head, right);
  std::size_t shown = 0;
  for (std::size_t r = 0; r < cells; ++r) {
    // The configurations are listed above the table; the index is 0 for every single design.
    const std::string& name = records[0][r].name;
    if (name == "index" || name == "configuration" || (o.only_changed && !differs(r))) continue;
    std::vector<std::string> row = {records[0][r].name, records[0][r].human};
    for (std::size_t k = 1; k < n; ++k) {
      const double a = number(0, r), b = number(k, r);
      std::string cell = records[k][r].human;
      // Numbers say by how much; a changed name (variant, dtype, reason) speaks for itself.
      if (field_of_row && records[k][r].text != records[0][r].text) {
        const std::string c = change_text(*field_of_row, a, b);
        if (!c.empty()) cell += " (" + c + ")";
      }
      row.push_back(std::move(cell));
    }
    t.add(std::move(row));
    ++shown;
  }
  std::string text = fmt::format("kvscope {} compare: {} designs; changes relative to design 1\n", KVSCOPE_VERSION, n);
  for (std::size_t k = 0; k < n; ++k) text += fmt::format("  {}: {}\n", k + 1, points[k]->configuration);
  text += "\n" + t.str();
  if (o.only_changed && shown == 0) text += "(no field differs)\n";
  emit_text(text, o.out.output);
}

const Registrar reg(12, [](CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* sub = app.add_subcommand("compare", "2 to 4 design points side by side, changes relative to the first");
  add_design_flags(sub, o->design, false);
  sub->add_option(
         "--design", o->designs,
         "one design: the common flags plus 'field=value,...' (e.g. 'kv_heads=8,cla=2'; any design field, one value each); "
         "give 2 to 4")
      ->required();
  add_output_flags(sub, o->out, "table, csv or json");
  sub->add_flag("--only-changed", o->only_changed, "show only the fields where a design differs from the first");
  sub->footer(
      "Example: kvscope compare --model llama-3-8b --context 32k --design kv_heads=8 --design kv_heads=8,cla=2 "
      "--design kv_heads=1");
  sub->callback([o] { run_compare(*o); });
});

}  // namespace
}  // namespace kvscope::cli
