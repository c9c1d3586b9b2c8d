#pragma once
// ChartPanel: a QChartView showing a kvscope::plot ChartSpec (the spec is kept for export).
#include <QWidget>

#include "kvscope/plot/plot.hpp"

QT_BEGIN_NAMESPACE
class QChartView;
class QLabel;
QT_END_NAMESPACE

namespace kvscope::gui {

class ChartPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ChartPanel(QWidget* parent = nullptr);
  // Builds the chart (kvscope::plot::build_chart) and shows it; a PlotError is shown as text.
  // Returns the chart, or null on error.
  QChart* setSpec(const plot::ChartSpec& spec, std::size_t opengl_threshold = 0);
  void showMessage(const QString& text);
  const plot::ChartSpec& spec() const { return spec_; }
  bool hasChart() const { return has_chart_; }
  QChartView* view() const { return view_; }
  QChart* chart() const;

  // Global switch: GL series only in an interactive session with a GL-capable platform.
  static void setOpenGlThreshold(std::size_t n);
  static std::size_t openGlThreshold();

 private:
  QChartView* view_;
  QLabel* message_;
  plot::ChartSpec spec_;
  bool has_chart_ = false;
};

}  // namespace kvscope::gui
