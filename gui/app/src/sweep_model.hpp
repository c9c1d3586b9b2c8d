#pragma once
// SweepModel: the design-space sweep behind the Pareto explorer. Takes the current scenario,
// sweeps the axes the user edits as CLI axis text ("1,2,4,8", "1024..131072:x2") with
// kvscope::models::explore on a worker thread, reports progress, cancels stale sweeps, and
// publishes every point's output fields (the fields registry's columns) for plotting.
#include <QObject>
#include <QString>
#include <QTimer>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kvscope/core/scenario.hpp"
#include "kvscope/explorer/explore.hpp"

QT_BEGIN_NAMESPACE
class QThread;
QT_END_NAMESPACE

namespace kvscope::gui {

// The results of one sweep. Rows are the points that evaluated (invalid combinations are
// skipped by the engine), in ascending point index.
struct SweepData {
  std::uint64_t total = 0, evaluated = 0, skipped = 0, infeasible = 0;
  bool partial = false;
  double elapsed_s = 0;
  QString skip_summary;  // most frequent skip reason, e.g. "'n_kv_heads': expected a divisor ..."
  // Column c = models::fields()[c].
  std::size_t columns = 0;
  std::vector<double> values;  // row-major rows x columns
  std::vector<std::uint64_t> indices;
  std::vector<std::uint32_t> arch_index;
  std::shared_ptr<const models::SweepTables> tables;
  // The swept axes, outermost first, with their expanded values as scenario text.
  std::vector<std::pair<std::string, std::vector<std::string>>> swept;
  std::vector<std::string> fixed_workload;  // "tp=1", "P=2048"...

  std::size_t rows() const { return indices.size(); }
  double value(std::size_t row, std::size_t column) const { return values[row * columns + column]; }
  // The scenario field values that select this row's point (for "click makes it current").
  std::map<std::string, std::string> scenario_values(std::size_t row) const;
  // "llama-3-8b kv_heads=4 cla=2 | B=64 S=32768".
  QString configuration(std::size_t row) const;
};

// Column of a registry field by name, or -1.
int field_column(std::string_view name);

class SweepModel : public QObject {
  Q_OBJECT
 public:
  explicit SweepModel(QObject* parent = nullptr);
  ~SweepModel() override;

  // The swept axes in the engine's order (outermost first).
  static const std::vector<std::string>& axisNames();
  QString axis(const QString& name) const;
  // Sets an axis ("" = not swept: the scenario's value). Validated at once (axisErrors) and a
  // new sweep is scheduled.
  void setAxis(const QString& name, const QString& text);
  const std::map<std::string, QString>& axisErrors() const { return axis_errors_; }
  // Resets every axis to the default for the current base scenario.
  void resetAxes();

  // The scenario the sweep varies (the current design); schedules a new sweep when it changed.
  void setBase(const Scenario& s);
  const Scenario& base() const { return base_; }

  // Debounce before a scheduled sweep starts (ms); 0 starts on the next event-loop turn.
  void setDebounce(int ms) { timer_.setInterval(ms); }
  // Most points a sweep may have (larger specs are refused with an error).
  static constexpr std::uint64_t kMaxPoints = 2'000'000;

  void schedule();  // start after the debounce, cancelling a running sweep
  void startNow();
  void cancel();
  bool running() const { return running_; }
  std::shared_ptr<const SweepData> result() const { return result_; }
  QString lastError() const { return error_; }
  // Points the present axes expand to (0 when invalid).
  std::uint64_t plannedPoints() const { return planned_; }

 signals:
  void axesChanged();
  void started(quint64 points);
  void progress(double fraction, double points_per_s);
  void finished();  // result() holds the new data
  void failed(QString message);

 private:
  void validateAxes();
  models::SweepSpec buildSpec(std::vector<std::pair<std::string, std::vector<std::string>>>& swept) const;
  std::map<std::string, std::string> defaultAxes() const;

  Scenario base_;
  bool have_base_ = false;
  std::map<std::string, std::string> axes_;
  std::map<std::string, bool> user_set_;
  std::map<std::string, QString> axis_errors_;
  std::uint64_t planned_ = 0;
  QTimer timer_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::vector<QThread*> threads_;
  bool running_ = false;
  std::shared_ptr<const SweepData> result_;
  QString error_;
};

}  // namespace kvscope::gui
