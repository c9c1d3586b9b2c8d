#pragma once
// DetailsPanel: every figure `kvscope eval` prints for the current design (the fields registry),
// its per-op breakdown (op, time, share, bytes, FLOPs, bound), and the pinned designs side by side.
#include <QWidget>

QT_BEGIN_NAMESPACE
class QComboBox;
class QLabel;
class QTableWidget;
QT_END_NAMESPACE

namespace kvscope::gui {

class DesignModel;

class DetailsPanel : public QWidget {
  Q_OBJECT
 public:
  explicit DetailsPanel(DesignModel* model, QWidget* parent = nullptr);
  QTableWidget* figuresTable() const { return figures_; }
  QTableWidget* opsTable() const { return ops_; }
  QTableWidget* pinsTable() const { return pins_; }

 private:
  void refresh();
  void refreshOps();
  void refreshPins();

  DesignModel* model_;
  QLabel* header_;
  QTableWidget* figures_;
  QComboBox* phase_;
  QTableWidget* ops_;
  QTableWidget* pins_;
};

}  // namespace kvscope::gui
