// `kvscope fields`: every design field (what a user sets: flags, scenario keys, sweep axes) and
// every output field (what a result reports: CSV / JSON columns, constraints, objectives), with
// unit and meaning, generated from the two registries (core/design_fields.hpp,
// models/fields.hpp).
#include <fmt/format.h>

#include "command.hpp"
#include "kvscope/core/csv.hpp"
#include "kvscope/core/design_fields.hpp"
#include "kvscope/models/fields.hpp"
#include "output.hpp"

namespace kvscope::cli {
namespace {

struct FieldsOptions {
  std::string format = "table";
};

std::string joined(const std::vector<std::string_view>& v, const char* sep) {
  std::string s;
  for (std::string_view x : v) s += (s.empty() ? "" : sep) + std::string(x);
  return s;
}

std::string bounds_text(const DesignField& d) {
  if (d.type != ValueType::integer && d.type != ValueType::real) return "";
  return fmt::format("{:g}..{:g}", d.min, d.max);
}

// The design knob reported by an output column, if any.
const DesignField* knob_of(const models::Field& f) {
  for (const DesignField& d : design_fields()) {
    if (d.output == f.name) return &d;
  }
  return nullptr;
}

void run_fields(const FieldsOptions& o) {
  const Format format = parse_format(o.format);
  if (format == Format::json) {
    boost::json::array design, output;
    for (const DesignField& d : design_fields()) {
      boost::json::array aliases;
      for (std::string_view a : d.aliases) aliases.emplace_back(a);
      boost::json::object j{{"name", d.name},
                            {"unit", d.unit},
                            {"group", to_string(d.group)},
                            {"type", to_string(d.type)},
                            {"description", d.description},
                            {"default", d.default_text},
                            {"flag", d.flag()},
                            {"aliases", std::move(aliases)},
                            {"sweepable", d.sweepable},
                            {"output", d.output},
                            {"gui_label", d.gui_label}};
      if (d.type == ValueType::integer || d.type == ValueType::real) {
        j["min"] = json_number(d.min);
        j["max"] = json_number(d.max);
      }
      if (d.scale != 1) j["si_scale"] = d.scale;
      design.push_back(std::move(j));
    }
    for (const models::Field& f : models::fields()) {
      const DesignField* k = knob_of(f);
      output.push_back({{"name", f.name},
                        {"unit", f.unit},
                        {"kind", models::to_string(f.kind)},
                        {"description", f.help},
                        {"design_field", k ? boost::json::value(k->name) : boost::json::value(nullptr)},
                        {"log_scale_hint", f.log_scale_hint}});
    }
    boost::json::object out{{"provenance", provenance_json(recorded_command_line())},
                            {"design_fields", std::move(design)},
                            {"output_fields", std::move(output)}};
    emit(pretty_json(out), "");
    return;
  }
  if (format == Format::csv) {
    std::string s = "table,name,unit,kind,type,bounds,default,flag,aliases,sweepable,output,description\n";
    for (const DesignField& d : design_fields()) {
      s += fmt::format("design,{},{},{},{},{},{},{},{},{},{},{}\n", d.name, d.unit, to_string(d.group), to_string(d.type),
                       bounds_text(d), csv_escape(std::string(d.default_text)), d.flag(), csv_escape(joined(d.aliases, " ")),
                       d.sweepable ? 1 : 0, d.output, csv_escape(std::string(d.description)));
    }
    for (const models::Field& f : models::fields()) {
      s += fmt::format("output,{},{},{},,,,,,,,{}\n", f.name, f.unit, models::to_string(f.kind), csv_escape(std::string(f.help)));
    }
    emit(s, "");
    return;
  }
  Table t({"design field", "unit", "group", "values", "default", "aliases", "output", "meaning"});
  for (const DesignField& d : design_fields()) {
    t.add({std::string(d.name), std::string(d.unit), to_string(d.group),
           d.type == ValueType::integer || d.type == ValueType::real ? bounds_text(d) : to_string(d.type),
           std::string(d.default_text), joined(d.aliases, ", "), std::string(d.output), std::string(d.description)});
  }
  Table u({"output field", "unit", "kind", "meaning"});
  for (const models::Field& f : models::fields()) {
    u.add({std::string(f.name), std::string(f.unit), models::to_string(f.kind), std::string(f.help)});
  }
  emit_text(t.str() +
                "\nEvery design field is a flag (--name, '_' -> '-') and a scenario key; sweep, pareto and explore take lists\n"
                "and ranges for the sweepable ones. Output fields are the CSV / JSON columns, and what --constraint\n"
                "and --objectives name.\n\n" +
                u.str(),
            "");
}

const Registrar reg(4, [](CLI::App& app) {
  auto o = std::make_shared<FieldsOptions>();
  CLI::App* sub = app.add_subcommand(
      "fields", "every design field (flags, scenario keys, sweep axes) and output field, with unit and meaning");
  sub->add_option("--format", o->format, "table, json or csv [table]");
  sub->callback([o] { run_fields(*o); });
});

}  // namespace
}  // namespace kvscope::cli
