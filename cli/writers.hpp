#pragma once
// Output writers: one result record (ordered named cells), written as a table, CSV, JSON or
// markdown behind one interface, so a command builds its record once and every format shows the
// same columns under the same names. The point record (point_record) is the context of a design
// point (index, configuration, model, GPU, stack, ...) followed by every output field of the
// registry (models::fields()), which is what sweep and pareto write as CSV rows and JSON objects.
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "kvscope/explorer/explore.hpp"
#include "output.hpp"

namespace kvscope::cli {

struct Cell {
  std::string name;         // column / key: an output field name or a context column
  boost::json::value json;  // the value in JSON (numbers null when not finite)
  std::string text;         // the value in CSV (finite numbers in full precision, "" otherwise)
  std::string human;        // the value in tables and markdown (units, as the CLI prints them)
};
using Record = std::vector<Cell>;

// Cell builders.
Cell text_cell(std::string name, const std::string& value);  // CSV-escaped in CSV
Cell number_cell(std::string name, double value, std::string human);
// An output field of the registry: JSON number (a bool for unit "bool"), CSV "{}", human_field.
Cell field_cell(const models::Field& f, const models::PointResult& p);

// The one record of a design point, written by eval, sweep, pareto, compare and explore as a CSV
// row and a JSON object: the context columns (index, configuration, model, variant, gpu,
// stack, kv_dtype, weight_dtype, runtime, reason, val_ppl_kind, ppl_delta_kind,
// accuracy_extrapolated, accuracy_source), then every output field of the registry in registry
// order. `model` is the base model's id; `configuration` names the design as a sweep does.
struct PointNames {
  std::uint64_t index = 0;    // the point's index in its sweep (0 for a single design)
  std::string configuration;  // models::configuration_name
  std::string gpu, stack;
};
Record point_record(const PointNames& names, const models::PointResult& p);
Record point_record(const models::SweepResult& r, std::uint64_t index, const models::PointResult& p);
// The names of point_record's cells, for a header written before the first point.
std::vector<std::string> point_record_names();
// The output fields of a point, in registry order.
Record field_cells(const models::PointResult& p);
// All output fields of a point as a JSON object (names from the field registry).
boost::json::object point_json(const models::PointResult& p);

class Writer {
 public:
  virtual ~Writer() = default;
  // Text before the first row (CSV / markdown header line, JSON opening bracket). `right`:
  // numeric columns (right-aligned in tables); may be shorter than `names`.
  virtual std::string begin(const std::vector<std::string>& names, const std::vector<bool>& right) = 0;
  std::string begin(const Record& prototype);  // names and alignment of a record
  virtual std::string row(const Record& r) = 0;
  virtual std::string end() = 0;
};

// CSV: a header line of the names, then one line per record.
std::unique_ptr<Writer> csv_writer();
// JSON lines inside an array: "[\n" obj ",\n" obj ... "\n]" (compact objects, as sweep streams).
std::unique_ptr<Writer> json_writer();
// An aligned text table of the human cells (numbers right-aligned); written at end().
std::unique_ptr<Writer> table_writer();
// A GitHub markdown table of the human cells.
std::unique_ptr<Writer> markdown_writer();

// A record as one JSON object (keys in record order).
boost::json::object to_json(const Record& r);

}  // namespace kvscope::cli
