#pragma once
// MainWindow: inputs (left), the six views (centre tabs), details and pins (right), menus for
// scenario files and exports. Owns the view-models.
#include <QMainWindow>

QT_BEGIN_NAMESPACE
class QDockWidget;
class QLabel;
class QProgressBar;
class QTabWidget;
QT_END_NAMESPACE

namespace kvscope::gui {

class ChartPanel;
class DesignModel;
class DesignView;
class DetailsPanel;
class InputsPanel;
class ParetoView;
class ServingView;
class SweepModel;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);

  DesignModel* design() const { return design_; }
  SweepModel* sweep() const { return sweep_; }
  InputsPanel* inputs() const { return inputs_; }
  DetailsPanel* details() const { return details_; }
  ParetoView* paretoView() const { return pareto_; }

  // The size a new window opens at on a screen whose available area is `available`: the screen
  // less a margin, at most 1600x1000, never below the minimum (which fits 1366x768).
  static QSize initialSize(const QSize& available);
  // The smallest window whose panels still work (they scroll below it): fits a 1366x768 laptop
  // screen less a task bar and the title bar.
  static constexpr int kMinWidth = 1280, kMinHeight = 680;

  // "pareto", "memory", "throughput", "roofline", "paper".
  static QStringList viewNames();
  bool setView(const QString& name);
  QString currentViewName() const;
  ChartPanel* currentChart() const;
  ChartPanel* chart(const QString& view) const;

  // File operations; on failure return false and set *error.
  bool openScenario(const QString& path, QString* error);
  bool saveScenario(const QString& path, QString* error);
  bool exportChart(const QString& path, QString* error);  // .png or .svg of the current view
  bool exportSweepCsv(const QString& path, QString* error);

 signals:
  // Emitted after a sweep finished (or failed) and the views were redrawn.
  void settled();

 private:
  void refreshVisible();
  void buildMenus();

  DesignModel* design_;
  SweepModel* sweep_;
  InputsPanel* inputs_;
  DetailsPanel* details_;
  ParetoView* pareto_;
  ServingView* serving_;
  QList<DesignView*> design_views_;
  QList<QDockWidget*> docks_;
  QTabWidget* tabs_;
  QProgressBar* progress_;
  QLabel* status_;
};

}  // namespace kvscope::gui
