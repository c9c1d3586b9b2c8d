#include "chart_panel.hpp"

#include <QChart>
#include <QChartView>
#include <QLabel>
#include <QVBoxLayout>

namespace kvscope::gui {

namespace {
std::size_t g_gl_threshold = 0;
}

void ChartPanel::setOpenGlThreshold(std::size_t n) {
  g_gl_threshold = n;
}
std::size_t ChartPanel::openGlThreshold() {
  return g_gl_threshold;
}

ChartPanel::ChartPanel(QWidget* parent) : QWidget(parent) {
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  view_ = new QChartView(this);
  view_->setObjectName("chart_view");
  view_->setRenderHint(QPainter::Antialiasing);
  view_->setMinimumSize(360, 240);
  view_->setFocusPolicy(Qt::StrongFocus);
  message_ = new QLabel(this);
  message_->setObjectName("chart_message");
  message_->setAlignment(Qt::AlignCenter);
  message_->setWordWrap(true);
  message_->setVisible(false);
  v->addWidget(view_, 1);
  v->addWidget(message_);
}

QChart* ChartPanel::chart() const {
  return has_chart_ ? view_->chart() : nullptr;
}

QChart* ChartPanel::setSpec(const plot::ChartSpec& spec, std::size_t opengl_threshold) {
  try {
    plot::BuildOptions opt;
    opt.opengl_threshold = opengl_threshold;
    QChart* c = plot::build_chart(spec, opt);
    c->setAnimationOptions(QChart::NoAnimation);
    QChart* old = view_->chart();
    view_->setChart(c);
    if (old && old != c) old->deleteLater();
    spec_ = spec;
    has_chart_ = true;
    message_->setVisible(false);
    return c;
  } catch (const plot::PlotError& e) {
    showMessage(QString::fromUtf8(e.what()));
    return nullptr;
  }
}

void ChartPanel::showMessage(const QString& text) {
  message_->setText(text);
  message_->setVisible(!text.isEmpty());
}

}  // namespace kvscope::gui
