#pragma once
// ParetoView: the design-space explorer. Two objectives picked from the fields registry; every
// swept point drawn faded, the frontier highlighted, the current design starred; hover shows a
// point's configuration and figures, clicking makes it the current design. The sweep axes are
// edited as CLI axis text.
#include <QWidget>
#include <map>
#include <memory>

#include "view_specs.hpp"

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
QT_END_NAMESPACE

namespace kvscope::gui {

class ChartPanel;
class DesignModel;
class FieldEditor;
class SweepModel;

class ParetoView : public QWidget {
  Q_OBJECT
 public:
  ParetoView(DesignModel* design, SweepModel* sweep, QWidget* parent = nullptr);

  ParetoChoice choice() const { return choice_; }
  void setChoice(const ParetoChoice& c);
  const ParetoPlot& plotData() const { return plot_; }
  ChartPanel* chartPanel() const { return chart_; }
  FieldEditor* axisEditor(const QString& name) const;
  // Makes the sweep row the current design (what a click on a point does).
  void choose(std::size_t row);
  // The sweep row nearest to a point of the chart's value space, or -1.
  long long rowAt(double x, double y) const;
  QString describeRow(std::size_t row) const;
  // Redraws on the next event-loop turn (changes in one turn draw once); redrawNow() at once.
  void redraw();
  void redrawNow();

 signals:
  void pointChosen(qulonglong row);

 private:
  void syncAxes();
  void readChoice();

  DesignModel* design_;
  SweepModel* sweep_;
  ParetoChoice choice_;
  ParetoPlot plot_;
  std::shared_ptr<const SweepData> data_;
  ChartPanel* chart_;
  QComboBox *x_field_, *y_field_, *x_sense_, *y_sense_;
  QCheckBox *x_log_, *y_log_, *feasible_;
  std::map<QString, FieldEditor*> axes_;
  QLabel* status_;
  QProgressBar* progress_;
  bool updating_ = false;
  bool redraw_pending_ = false;
};

}  // namespace kvscope::gui
