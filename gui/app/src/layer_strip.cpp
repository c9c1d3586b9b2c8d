#include "layer_strip.hpp"

#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>

#include "kvscope/plot/charts.hpp"

namespace kvscope::gui {

namespace {
constexpr double kTop = 26;  // room for the arcs
constexpr double kCellH = 22;
constexpr double kMargin = 4;

QColor group_colour(int producer, const std::vector<int>& producers) {
  // Colour by the producer's rank among producers so neighbouring groups differ.
  int rank = 0;
  for (int i = 0; i < producer && i < static_cast<int>(producers.size()); ++i) rank += producers[i] == i;
  const auto& pal = plot::palette();
  const std::uint32_t rgb = pal[static_cast<std::size_t>(rank) % pal.size()];
  return QColor::fromRgb(static_cast<QRgb>(rgb));
}
}  // namespace

LayerStrip::LayerStrip(QWidget* parent) : QWidget(parent) {
  setObjectName("layer_strip");
  setFocusPolicy(Qt::StrongFocus);
  setMouseTracking(true);
  setToolTip(
      tr("Which layer's K/V each layer reads. Filled cells store K/V (producers); tinted cells reuse the "
         "producer they are linked to (cross-layer attention). Click a cell, or focus and press Space, to "
         "toggle it between producer and consumer. A dark band marks sliding-window (local) layers."));
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

QSize LayerStrip::sizeHint() const {
  return {320, static_cast<int>(kTop + kCellH + 2 * kMargin + 14)};
}
QSize LayerStrip::minimumSizeHint() const {
  return {120, sizeHint().height()};
}

void LayerStrip::setLayers(const std::vector<int>& producer, const std::vector<bool>& local) {
  producer_ = producer;
  local_ = local;
  local_.resize(producer_.size(), false);
  cursor_ = std::min(cursor_, std::max(0, static_cast<int>(producer_.size()) - 1));
  update();
}

QRectF LayerStrip::cellRect(int layer) const {
  const int n = std::max<int>(1, static_cast<int>(producer_.size()));
  const double w = (width() - 2 * kMargin) / n;
  return {kMargin + layer * w, kTop, std::max(1.0, w - (w > 6 ? 1.5 : 0.5)), kCellH};
}

int LayerStrip::cellAt(QPointF pos) const {
  for (int i = 0; i < static_cast<int>(producer_.size()); ++i) {
    const QRectF r = cellRect(i);
    if (pos.x() >= r.left() && pos.x() < r.left() + r.width() + 1.5 && pos.y() >= 0 && pos.y() <= r.bottom() + 14) return i;
  }
  return -1;
}

std::vector<int> LayerStrip::toggled(int layer) const {
  std::vector<int> p = producer_;
  if (layer <= 0 || layer >= static_cast<int>(p.size())) return p;
  if (p[layer] == layer) {
    // Producer -> consumer of the nearest producer below; its own consumers follow it.
    int below = layer - 1;
    while (below > 0 && p[below] != below) --below;
    for (int& x : p) {
      if (x == layer) x = below;
    }
  } else {
    // Consumer -> producer; the consumers above it that read the same producer now read it.
    const int old = p[layer];
    p[layer] = layer;
    for (int i = layer + 1; i < static_cast<int>(p.size()) && p[i] == old && i != old; ++i) p[i] = layer;
  }
  return p;
}

QString LayerStrip::mapText(const std::vector<int>& producer) {
  QStringList parts;
  for (int x : producer) parts << QString::number(x);
  return parts.join(',');
}

void LayerStrip::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  p.fillRect(rect(), palette().base());
  const int n = static_cast<int>(producer_.size());
  if (n == 0) {
    p.drawText(rect(), Qt::AlignCenter, tr("(no valid architecture)"));
    return;
  }
  // Arcs from producer to consumers.
  for (int i = 0; i < n; ++i) {
    const int pr = producer_[i];
    if (pr == i || pr < 0 || pr >= n) continue;
    const QRectF a = cellRect(pr), b = cellRect(i);
    const double x0 = a.center().x(), x1 = b.center().x();
    const double h = std::min(kTop - 3, 6.0 + (x1 - x0) * 0.35);
    QPainterPath path(QPointF(x0, kTop));
    path.cubicTo(QPointF(x0, kTop - h), QPointF(x1, kTop - h), QPointF(x1, kTop));
    QColor c = group_colour(pr, producer_);
    p.setPen(QPen(c.darker(120), 1.3));
    p.drawPath(path);
  }
  for (int i = 0; i < n; ++i) {
    const QRectF r = cellRect(i);
    const int pr = (producer_[i] >= 0 && producer_[i] < n) ? producer_[i] : i;
    QColor c = group_colour(pr, producer_);
    const bool stores = pr == i;
    if (!stores) c = QColor::fromHsvF(c.hsvHueF(), c.hsvSaturationF() * 0.35, std::min(1.0, c.valueF() * 1.1 + 0.1));
    p.setPen(QPen(stores ? c.darker(140) : c.darker(115), 1));
    p.setBrush(c);
    p.drawRoundedRect(r, 2, 2);
    if (i < static_cast<int>(local_.size()) && local_[i]) {
      p.fillRect(QRectF(r.left(), r.bottom() - 4, r.width(), 4), QColor(40, 40, 40, 170));
    }
    if (i == hover_ || (hasFocus() && i == cursor_)) {
      p.setPen(QPen(palette().highlight().color(), 2));
      p.setBrush(Qt::NoBrush);
      p.drawRect(r.adjusted(-1, -1, 1, 1));
    }
  }
  // Layer numbers every few cells.
  p.setPen(palette().text().color());
  QFont f = font();
  f.setPointSizeF(f.pointSizeF() * 0.8);
  p.setFont(f);
  const double w = cellRect(0).width() + 1;
  const int step = w >= 18 ? 1 : w >= 9 ? 2 : w >= 4 ? 8 : 16;
  for (int i = 0; i < n; i += step) {
    const QRectF r = cellRect(i);
    p.drawText(QRectF(r.left() - 8, r.bottom() + 1, r.width() + 16, 12), Qt::AlignHCenter | Qt::AlignTop, QString::number(i));
  }
}

bool LayerStrip::event(QEvent* e) {
  if (e->type() == QEvent::ToolTip) {
    auto* he = static_cast<QHelpEvent*>(e);
    const int i = cellAt(he->pos());
    if (i >= 0) {
      const int pr = producer_[static_cast<std::size_t>(i)];
      QString t = pr == i ? tr("layer %1 stores its own K/V").arg(i) : tr("layer %1 reads the K/V of layer %2").arg(i).arg(pr);
      if (local_[static_cast<std::size_t>(i)]) t += tr(" (sliding window)");
      QToolTip::showText(he->globalPos(), t + tr("\nclick to toggle producer / consumer"), this);
      return true;
    }
  }
  return QWidget::event(e);
}

void LayerStrip::mousePressEvent(QMouseEvent* e) {
  const int i = cellAt(e->position());
  if (i < 0 || e->button() != Qt::LeftButton) return;
  cursor_ = i;
  if (i > 0) emit producersEdited(mapText(toggled(i)));
}

void LayerStrip::mouseMoveEvent(QMouseEvent* e) {
  const int i = cellAt(e->position());
  if (i != hover_) {
    hover_ = i;
    update();
  }
}

void LayerStrip::keyPressEvent(QKeyEvent* e) {
  const int n = static_cast<int>(producer_.size());
  if (e->key() == Qt::Key_Left && cursor_ > 0)
    --cursor_;
  else if (e->key() == Qt::Key_Right && cursor_ + 1 < n)
    ++cursor_;
  else if ((e->key() == Qt::Key_Space || e->key() == Qt::Key_Return) && cursor_ > 0)
    emit producersEdited(mapText(toggled(cursor_)));
  else
    return QWidget::keyPressEvent(e);
  update();
}

}  // namespace kvscope::gui
