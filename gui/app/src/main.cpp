// kvscope-gui: explore KV-cache architecture choices interactively.
//   kvscope-gui [--scenario FILE] [--view NAME] [--screenshot OUT.png] [--no-opengl]
// With --screenshot the window renders NAME once the evaluation and the sweep have finished,
// saves the whole main window (QWidget::grab) and exits (status 0, or 2 on an error).
#include <QApplication>
#include <QCommandLineParser>
#include <QGuiApplication>
#include <QPixmap>
#include <QTimer>

#include <cstdio>

#include "chart_panel.hpp"
#include "main_window.hpp"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("kvscope-gui");
  QApplication::setApplicationVersion(KVSCOPE_VERSION);
  QCommandLineParser cli;
  cli.setApplicationDescription("kvscope-gui: interactive explorer of transformer KV-cache design choices");
  cli.addHelpOption();
  cli.addVersionOption();
  QCommandLineOption scenario("scenario", "Open this scenario file (JSON kvscope-scenario/1).", "FILE");
  QCommandLineOption view("view", "Show this view: pareto, memory, throughput, roofline, paper.", "NAME");
  QCommandLineOption shot("screenshot", "Render the view, save the main window to OUT.png and exit.", "OUT");
  QCommandLineOption no_gl("no-opengl", "Never draw large point series with OpenGL.");
  cli.addOptions({scenario, view, shot, no_gl});
  cli.process(app);

  const bool screenshot = cli.isSet(shot);
  const QString platform = QGuiApplication::platformName();
  const bool gl_ok = !screenshot && !cli.isSet(no_gl) && (platform == "xcb" || platform.startsWith("wayland"));
  kvscope::gui::ChartPanel::setOpenGlThreshold(gl_ok ? 20000 : 0);

  kvscope::gui::MainWindow w;
  if (cli.isSet(scenario)) {
    QString err;
    if (!w.openScenario(cli.value(scenario), &err)) {
      std::fprintf(stderr, "kvscope-gui: %s\n", err.toUtf8().constData());
      return 2;
    }
  }
  if (cli.isSet(view) && !w.setView(cli.value(view))) {
    std::fprintf(stderr, "kvscope-gui: unknown view '%s' (pareto, memory, throughput, roofline, paper)\n",
                 cli.value(view).toUtf8().constData());
    return 2;
  }
  w.show();
  if (!screenshot) return QApplication::exec();

  const QString out = cli.value(shot);
  int status = 0;
  auto take = [&] {
    // Let layouts and the chart settle, then grab the whole window.
    QTimer::singleShot(400, &w, [&] {
      const QPixmap pm = w.grab();
      if (!pm.save(out)) {
        std::fprintf(stderr, "kvscope-gui: cannot write %s\n", out.toUtf8().constData());
        status = 2;
      }
      QApplication::quit();
    });
  };
  QObject::connect(&w, &kvscope::gui::MainWindow::settled, &w, [&] {
    static bool once = false;
    if (once) return;
    once = true;
    take();
  });
  QTimer::singleShot(120000, &w, [&] {
    std::fprintf(stderr, "kvscope-gui: timed out waiting for the evaluation\n");
    status = 2;
    QApplication::quit();
  });
  const int rc = QApplication::exec();
  return status ? status : rc;
}
