#pragma once
// The views drawn from the current design (and the pinned ones): memory, throughput vs batch,
// roofline, and the CLA paper's design space. Each is a small control row over a ChartPanel;
// refresh() rebuilds its chart from the DesignModel.
#include <QWidget>

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QHBoxLayout;
QT_END_NAMESPACE

namespace kvscope::gui {

class ChartPanel;
class DesignModel;

class DesignView : public QWidget {
  Q_OBJECT
 public:
  DesignView(DesignModel* model, QWidget* parent);
  ChartPanel* chartPanel() const { return chart_; }
  virtual void refresh() = 0;

 protected:
  DesignModel* model_;
  ChartPanel* chart_;
  QHBoxLayout* controls_;
};

// Weights / K/V / workspace against the GPU's capacity as batch or context grows.
class MemoryView : public DesignView {
  Q_OBJECT
 public:
  explicit MemoryView(DesignModel* model, QWidget* parent = nullptr);
  void refresh() override;

 private:
  QComboBox* axis_;
};

// Decode tokens/s vs batch for the current, pinned and CLA-sibling configurations.
class ThroughputView : public DesignView {
  Q_OBJECT
 public:
  explicit ThroughputView(DesignModel* model, QWidget* parent = nullptr);
  void refresh() override;

 private:
  QCheckBox* compare_cla_;
  QCheckBox* compare_stacks_;
};

// Every op of a decode step (or prefill) against the GPU's ceilings.
class RooflineView : public DesignView {
  Q_OBJECT
 public:
  explicit RooflineView(DesignModel* model, QWidget* parent = nullptr);
  void refresh() override;

 private:
  QComboBox* phase_;
};

// The paper's 1B Pareto figure: measured rows, the fit's estimates, the current design.
class PaperView : public DesignView {
  Q_OBJECT
 public:
  explicit PaperView(DesignModel* model, QWidget* parent = nullptr);
  void refresh() override;
};

}  // namespace kvscope::gui
