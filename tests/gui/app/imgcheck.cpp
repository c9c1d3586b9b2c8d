// kvscope_gui_imgcheck FILE.png [min_width min_height min_colours [exact]]
// Fails unless the image loads, is at least min_width x min_height (exactly, with "exact": a
// window that refused to shrink to the asked size fails) and holds at least min_colours distinct
// colours (a blank or half-drawn window has a handful).
#include <QGuiApplication>
#include <QImage>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_set>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: kvscope_gui_imgcheck FILE.png [min_width min_height min_colours]\n");
    return 2;
  }
  const int min_w = argc > 2 ? std::atoi(argv[2]) : 1200;
  const int min_h = argc > 3 ? std::atoi(argv[3]) : 700;
  const std::size_t min_colours = argc > 4 ? static_cast<std::size_t>(std::atoi(argv[4])) : 400;
  const bool exact = argc > 5 && std::string(argv[5]) == "exact";
  QImage img(QString::fromLocal8Bit(argv[1]));
  if (img.isNull()) {
    std::fprintf(stderr, "FAIL %s: not a readable image\n", argv[1]);
    return 1;
  }
  img = img.convertToFormat(QImage::Format_RGB32);
  std::unordered_set<QRgb> colours;
  for (int y = 0; y < img.height(); ++y) {
    const auto* line = reinterpret_cast<const QRgb*>(img.constScanLine(y));
    for (int x = 0; x < img.width(); ++x) colours.insert(line[x]);
  }
  const bool size_ok = exact ? img.width() == min_w && img.height() == min_h : img.width() >= min_w && img.height() >= min_h;
  const bool ok = size_ok && colours.size() >= min_colours;
  std::printf("%s %s: %dx%d, %zu distinct colours (need %s %dx%d, >= %zu)\n", ok ? "ok" : "FAIL", argv[1], img.width(),
              img.height(), colours.size(), exact ? "exactly" : ">=", min_w, min_h, min_colours);
  return ok ? 0 : 1;
}
