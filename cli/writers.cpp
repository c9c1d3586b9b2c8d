#include "writers.hpp"

#include <fmt/format.h>

#include <cmath>

#include "kvscope/core/csv.hpp"
#include "kvscope/explorer/scenario_sweep.hpp"

namespace kvscope::cli {

Cell text_cell(std::string name, const std::string& value) {
  return {std::move(name), boost::json::value(value), csv_escape(value), value};
}

Cell number_cell(std::string name, double value, std::string human) {
  return {std::move(name), json_number(value), std::isfinite(value) ? fmt::format("{}", value) : "", std::move(human)};
}

Cell field_cell(const models::Field& f, const models::PointResult& p) {
  const double v = f.get(p);
  Cell c = number_cell(std::string(f.name), v, human_field(f, v));
  if (f.unit == "bool") c.json = v != 0;
  return c;
}

Record field_cells(const models::PointResult& p) {
  Record r;
  r.reserve(models::fields().size());
  for (const auto& f : models::fields()) r.push_back(field_cell(f, p));
  return r;
}

boost::json::object point_json(const models::PointResult& p) {
  return to_json(field_cells(p));
}

namespace {
// The context columns, in record order: one definition for the header and the cells.
struct ContextColumn {
  const char* name;
  Cell (*cell)(const char* name, const PointNames& n, const models::PointResult& p);
};
Cell bool_cell(const char* name, bool v) {
  return {name, v, v ? "1" : "0", v ? "yes" : "no"};
}
const ContextColumn kPointContext[] = {
    {"index",
     [](const char* c, const PointNames& n, const models::PointResult&) -> Cell {
       return {c, n.index, std::to_string(n.index), std::to_string(n.index)};
     }},
    {"configuration",
     [](const char* c, const PointNames& n, const models::PointResult&) { return text_cell(c, n.configuration); }},
    {"model", [](const char* c, const PointNames&, const models::PointResult& p) { return text_cell(c, p.arch->model); }},
    {"variant", [](const char* c, const PointNames&, const models::PointResult& p) { return text_cell(c, p.arch->variant); }},
    {"gpu", [](const char* c, const PointNames& n, const models::PointResult&) { return text_cell(c, n.gpu); }},
    {"stack", [](const char* c, const PointNames& n, const models::PointResult&) { return text_cell(c, n.stack); }},
    {"kv_dtype",
     [](const char* c, const PointNames&, const models::PointResult& p) { return text_cell(c, to_string(p.arch->kv_dtype)); }},
    {"weight_dtype", [](const char* c, const PointNames&,
                        const models::PointResult& p) { return text_cell(c, to_string(p.arch->weight_dtype)); }},
    {"runtime",
     [](const char* c, const PointNames&, const models::PointResult& p) { return text_cell(c, to_string(p.workload.runtime)); }},
    {"reason",
     [](const char* c, const PointNames&, const models::PointResult& p) { return text_cell(c, models::point_reason(p)); }},
    {"val_ppl_kind", [](const char* c, const PointNames&,
                        const models::PointResult& p) { return text_cell(c, models::to_string(p.arch->accuracy.val_ppl_kind)); }},
    {"ppl_delta_kind", [](const char* c, const PointNames&,
                          const models::PointResult& p) { return text_cell(c, models::to_string(p.arch->accuracy.delta_kind)); }},
    {"accuracy_extrapolated",
     [](const char* c, const PointNames&, const models::PointResult& p) { return bool_cell(c, p.arch->accuracy.extrapolated); }},
    {"accuracy_source",
     [](const char* c, const PointNames&, const models::PointResult& p) { return text_cell(c, p.arch->accuracy.source); }},
};
}  // namespace

std::vector<std::string> point_record_names() {
  std::vector<std::string> n;
  for (const ContextColumn& c : kPointContext) n.emplace_back(c.name);
  for (const auto& f : models::fields()) n.emplace_back(f.name);
  return n;
}

Record point_record(const PointNames& names, const models::PointResult& p) {
  Record rec;
  rec.reserve(std::size(kPointContext) + models::fields().size());
  for (const ContextColumn& c : kPointContext) rec.push_back(c.cell(c.name, names, p));
  for (const auto& f : models::fields()) rec.push_back(field_cell(f, p));
  return rec;
}

Record point_record(const models::SweepResult& r, std::uint64_t index, const models::PointResult& p) {
  return point_record(PointNames{index, models::configuration_name(r, p), r.gpu_id(p), r.stack_id(p)}, p);
}

std::string Writer::begin(const Record& prototype) {
  std::vector<std::string> names;
  std::vector<bool> right;
  for (const Cell& c : prototype) names.push_back(c.name), right.push_back(c.json.is_number());
  return begin(names, right);
}

boost::json::object to_json(const Record& r) {
  boost::json::object o;
  for (const Cell& c : r) o[c.name] = c.json;
  return o;
}

namespace {

class CsvWriter : public Writer {
 public:
  using Writer::begin;
  std::string begin(const std::vector<std::string>& names, const std::vector<bool>&) override {
    std::string s;
    for (const std::string& n : names) s += (s.empty() ? "" : ",") + n;
    return s + "\n";
  }
  std::string row(const Record& r) override {
    std::string s;
    for (std::size_t i = 0; i < r.size(); ++i) s += (i ? "," : "") + r[i].text;
    return s + "\n";
  }
  std::string end() override { return {}; }
};

class JsonWriter : public Writer {
 public:
  using Writer::begin;
  std::string begin(const std::vector<std::string>&, const std::vector<bool>&) override { return "[\n"; }
  std::string row(const Record& r) override {
    std::string s = (first_ ? "" : ",\n") + boost::json::serialize(to_json(r));
    first_ = false;
    return s;
  }
  std::string end() override { return "\n]"; }

 private:
  bool first_ = true;
};

class TableWriter : public Writer {
 public:
  using Writer::begin;
  std::string begin(const std::vector<std::string>& names, const std::vector<bool>& right) override {
    table_ = std::make_unique<Table>(names, right);
    return {};
  }
  std::string row(const Record& r) override {
    std::vector<std::string> cells;
    for (const Cell& c : r) cells.push_back(c.human);
    table_->add(std::move(cells));
    return {};
  }
  std::string end() override { return table_ ? table_->str() : std::string(); }

 private:
  std::unique_ptr<Table> table_;
};

std::string md_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '|') o += '\\';
    o += c;
  }
  return o;
}

class MarkdownWriter : public Writer {
 public:
  using Writer::begin;
  std::string begin(const std::vector<std::string>& names, const std::vector<bool>& right) override {
    std::string head = "|", rule = "|";
    for (std::size_t i = 0; i < names.size(); ++i) {
      head += " " + md_escape(names[i]) + " |";
      rule += i < right.size() && right[i] ? " ---: |" : " --- |";
    }
    return head + "\n" + rule + "\n";
  }
  std::string row(const Record& r) override {
    std::string s = "|";
    for (const Cell& c : r) s += " " + md_escape(c.human) + " |";
    return s + "\n";
  }
  std::string end() override { return {}; }
};

}  // namespace

std::unique_ptr<Writer> csv_writer() {
  return std::make_unique<CsvWriter>();
}
std::unique_ptr<Writer> json_writer() {
  return std::make_unique<JsonWriter>();
}
std::unique_ptr<Writer> table_writer() {
  return std::make_unique<TableWriter>();
}
std::unique_ptr<Writer> markdown_writer() {
  return std::make_unique<MarkdownWriter>();
}

}  // namespace kvscope::cli
