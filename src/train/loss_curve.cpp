#include "train/loss_curve.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace josi::train {

namespace {

constexpr double kWidth = 800, kHeight = 480, kLeft = 70, kRight = 20, kTop = 40, kBottom = 50;

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

}  // namespace

std::string loss_curve_svg(const std::vector<CurvePoint>& train, const std::vector<CurvePoint>& eval,
                           const std::string& title) {
  int64_t max_step = 1;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto* series : {&train, &eval})
    for (const auto& p : *series) {
      if (!std::isfinite(p.value)) continue;
      max_step = std::max(max_step, p.step);
      lo = std::min(lo, p.value);
      hi = std::max(hi, p.value);
    }
  if (!(lo <= hi)) lo = 0, hi = 1;
  const bool log_axis = lo > 0 && hi / lo > 100;
  double y0, y1;  // axis range, in axis units (log10 of the loss on a log axis)
  if (log_axis) {
    y0 = std::floor(std::log10(lo));
    y1 = std::ceil(std::log10(hi));
  } else {
    y0 = std::min(0.0, lo);
    y1 = hi > y0 ? hi * 1.05 : y0 + 1;
  }
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto x_of = [&](int64_t step) { return kLeft + plot_w * static_cast<double>(step) / static_cast<double>(max_step); };
  auto y_of = [&](double v) {
    const double a = log_axis ? std::log10(std::max(v, 1e-12)) : v;
    return kTop + plot_h * (1.0 - (a - y0) / (y1 - y0));
  };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(kWidth) + "\" height=\"" +
                    number(kHeight) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + number(kWidth / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" + escape(title) + "</text>\n";
  // Axes, grid and tick labels.
  svg += "<g stroke=\"#999\" fill=\"none\"><rect x=\"" + number(kLeft) + "\" y=\"" + number(kTop) + "\" width=\"" +
         number(plot_w) + "\" height=\"" + number(plot_h) + "\"/></g>\n";
  const int y_ticks = log_axis ? static_cast<int>(y1 - y0) : 5;
  for (int i = 0; i <= y_ticks; ++i) {
    const double a = y0 + (y1 - y0) * i / std::max(1, y_ticks);
    const double value = log_axis ? std::pow(10.0, a) : a;
    const double y = y_of(value);
    svg += "<line x1=\"" + number(kLeft) + "\" x2=\"" + number(kLeft + plot_w) + "\" y1=\"" + number(y) + "\" y2=\"" +
           number(y) + "\" stroke=\"#eee\"/>\n";
    svg += "<text x=\"" + number(kLeft - 6) + "\" y=\"" + number(y + 4) + "\" text-anchor=\"end\">" + number(value) + "</text>\n";
  }
  for (int i = 0; i <= 5; ++i) {
    const int64_t step = max_step * i / 5;
    svg += "<text x=\"" + number(x_of(step)) + "\" y=\"" + number(kTop + plot_h + 18) + "\" text-anchor=\"middle\">" +
           std::to_string(step) + "</text>\n";
  }
  svg += "<text x=\"" + number(kLeft + plot_w / 2) + "\" y=\"" + number(kHeight - 8) + "\" text-anchor=\"middle\">step</text>\n";
  svg += "<text x=\"16\" y=\"" + number(kTop + plot_h / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " +
         number(kTop + plot_h / 2) + ")\">loss" + (log_axis ? " (log scale)" : "") + "</text>\n";

  auto polyline = [&](const std::vector<CurvePoint>& series, const char* colour) {
    std::string points;
    for (const auto& p : series)
      if (std::isfinite(p.value)) points += number(x_of(p.step)) + "," + number(y_of(p.value)) + " ";
    return "<polyline fill=\"none\" stroke=\"" + std::string(colour) + "\" stroke-width=\"1.5\" points=\"" + points + "\"/>\n";
  };
  svg += polyline(train, "#1f77b4");
  svg += polyline(eval, "#d62728");
  for (const auto& p : eval)
    if (std::isfinite(p.value))
      svg += "<circle cx=\"" + number(x_of(p.step)) + "\" cy=\"" + number(y_of(p.value)) + "\" r=\"3\" fill=\"#d62728\"/>\n";
  // Legend.
  const double lx = kLeft + plot_w - 150, ly = kTop + 16;
  svg += "<line x1=\"" + number(lx) + "\" x2=\"" + number(lx + 24) + "\" y1=\"" + number(ly) + "\" y2=\"" + number(ly) +
         "\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"" + number(lx + 30) + "\" y=\"" + number(ly + 4) +
         "\">train loss</text>\n";
  svg += "<line x1=\"" + number(lx) + "\" x2=\"" + number(lx + 24) + "\" y1=\"" + number(ly + 18) + "\" y2=\"" +
         number(ly + 18) + "\" stroke=\"#d62728\" stroke-width=\"2\"/><text x=\"" + number(lx + 30) + "\" y=\"" +
         number(ly + 22) + "\">eval loss</text>\n";
  svg += "</svg>\n";
  return svg;
}

}  // namespace josi::train
