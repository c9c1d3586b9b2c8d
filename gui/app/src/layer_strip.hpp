#pragma once
// LayerStrip: one cell per layer showing which layer's K/V each layer reads. Producers (layers
// that store K/V) are filled in their group's colour; consumers are tinted in their producer's
// colour and linked to it by an arc. Local (sliding-window) layers carry a dark band. Clicking a
// cell (or Space on the focused cell) toggles it between producer and consumer of the nearest
// producer below, which edits the explicit producer map.
#include <QWidget>
#include <vector>

namespace kvscope::gui {

class LayerStrip : public QWidget {
  Q_OBJECT
 public:
  explicit LayerStrip(QWidget* parent = nullptr);

  void setLayers(const std::vector<int>& producer, const std::vector<bool>& local);
  const std::vector<int>& producers() const { return producer_; }
  // The map after toggling `layer` (layer 0 always produces).
  std::vector<int> toggled(int layer) const;
  // "0,0,2,2"
  static QString mapText(const std::vector<int>& producer);
  int cellAt(QPointF pos) const;
  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 signals:
  void producersEdited(const QString& map);

 protected:
  void paintEvent(QPaintEvent*) override;
  void mousePressEvent(QMouseEvent*) override;
  void mouseMoveEvent(QMouseEvent*) override;
  void keyPressEvent(QKeyEvent*) override;
  bool event(QEvent*) override;

 private:
  QRectF cellRect(int layer) const;
  std::vector<int> producer_;
  std::vector<bool> local_;
  int cursor_ = 0;
  int hover_ = -1;
};

}  // namespace kvscope::gui
