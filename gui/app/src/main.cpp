// kvscope-gui: explore KV-cache architecture choices interactively.
//   kvscope-gui [--scenario FILE] [--view NAME] [--size WxH] [--screenshot OUT.png] [--no-opengl]
// With --screenshot the window renders NAME once the evaluation and the sweep have finished,
// saves the whole main window (QWidget::grab) and exits (status 0, or 2 on an error).
// --help and --version need no display: they are answered by a QCoreApplication before any
// window system is touched (a QApplication aborts when no display can be opened).
#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QGuiApplication>
#include <QPixmap>
#include <QRegularExpression>
#include <QTimer>
#include <cstdio>
#include <cstring>

#include "chart_panel.hpp"
#include "main_window.hpp"

namespace {

struct Options {
  QCommandLineOption scenario{"scenario", "Open this scenario file (JSON kvscope-scenario/1).", "FILE"};
  QCommandLineOption view{"view", "Show this view: pareto, memory, throughput, roofline, paper.", "NAME"};
  QCommandLineOption size{"size",
                          "Window size in pixels, e.g. 1366x768 (default: fits the screen, at most 1600x1000; "
                          "the smallest is MainWindow's minimum, which fits a 1366x768 laptop screen).",
                          "WxH"};
  QCommandLineOption shot{"screenshot", "Render the view, save the main window to OUT.png and exit.", "OUT"};
  QCommandLineOption no_gl{"no-opengl", "Never draw large point series with OpenGL."};
};

void describe(QCoreApplication& app, QCommandLineParser& cli, const Options& o) {
  QCoreApplication::setApplicationName("kvscope-gui");
  QCoreApplication::setApplicationVersion(KVSCOPE_VERSION);
  (void)app;
  cli.setApplicationDescription(
      "kvscope-gui: interactive explorer of transformer KV-cache design choices.\n"
      "Units as the CLI prints them: memory in GiB (2^30 B), rates in SI units.");
  cli.addHelpOption();
  cli.addVersionOption();
  cli.addOptions({o.scenario, o.view, o.size, o.shot, o.no_gl});
}

// True when argv asks only for text (help or version): then no display is needed.
bool wants_text_only(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    for (const char* a : {"-h", "--help", "-?", "--help-all", "-v", "--version"}) {
      if (std::strcmp(argv[i], a) == 0) return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (wants_text_only(argc, argv)) {
    QCoreApplication app(argc, argv);
    QCommandLineParser cli;
    describe(app, cli, o);
    cli.process(app);  // prints help or version and exits 0; a bad option exits 1 with a message
    return 0;
  }
  QApplication app(argc, argv);
  QCommandLineParser cli;
  describe(app, cli, o);
  cli.process(app);

  QSize size;
  if (cli.isSet(o.size)) {
    const auto m = QRegularExpression("^(\\d{3,5})x(\\d{3,5})$").match(cli.value(o.size));
    if (!m.hasMatch()) {
      std::fprintf(stderr, "kvscope-gui: --size: expected WIDTHxHEIGHT in pixels (e.g. 1366x768), found '%s'\n",
                   cli.value(o.size).toUtf8().constData());
      return 2;
    }
    size = QSize(m.captured(1).toInt(), m.captured(2).toInt());
  }

  const bool screenshot = cli.isSet(o.shot);
  const QString platform = QGuiApplication::platformName();
  const bool gl_ok = !screenshot && !cli.isSet(o.no_gl) && (platform == "xcb" || platform.startsWith("wayland"));
  kvscope::gui::ChartPanel::setOpenGlThreshold(gl_ok ? 20000 : 0);

  kvscope::gui::MainWindow w;
  if (cli.isSet(o.scenario)) {
    QString err;
    if (!w.openScenario(cli.value(o.scenario), &err)) {
      std::fprintf(stderr, "kvscope-gui: %s\n", err.toUtf8().constData());
      return 2;
    }
  }
  if (cli.isSet(o.view) && !w.setView(cli.value(o.view))) {
    std::fprintf(stderr, "kvscope-gui: unknown view '%s' (pareto, memory, throughput, serving, roofline, paper)\n",
                 cli.value(o.view).toUtf8().constData());
    return 2;
  }
  if (size.isValid()) {
    const QSize least = w.minimumSize().expandedTo(w.minimumSizeHint());
    if (size.width() < least.width() || size.height() < least.height()) {
      std::fprintf(stderr, "kvscope-gui: --size %dx%d is below the window's minimum %dx%d\n", size.width(), size.height(),
                   least.width(), least.height());
      return 2;
    }
    w.resize(size);
  }
  w.show();
  if (!screenshot) return QApplication::exec();

  const QString out = cli.value(o.shot);
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
