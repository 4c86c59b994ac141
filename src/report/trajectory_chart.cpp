#include "report/trajectory_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "report/chart_scale.h"
#include "report/html_text.h"
#include "report/palette.h"

namespace kforge::report {
namespace {

// Layout in SVG user units; the SVG scales to the page width.
constexpr double kWidth = 1000, kHeight = 348;
constexpr double kLeft = 74, kRight = 976;        // plot, x
constexpr double kTop = 12, kBottom = 262;        // plot, y
constexpr double kStripTop = 272, kStripBottom = 290;
constexpr double kTickLabelY = 308, kAxisTitleY = 336;

std::string num(double v) { return fmt::format("{:.1f}", v); }

std::string us(double v) { return format_number(v) + " \u00b5s"; }

// The strip's tag of a candidate that is not a dot.
std::string strip_tag(const CandidatePoint& c) {
  if (!c.failure_tag.empty()) return c.failure_tag;
  return c.passed ? "unmeasured" : "failed";
}

std::string candidate_title(const CandidatePoint& c) {
  std::string t = "#" + std::to_string(c.seq) + " c" + std::to_string(c.id);
  if (!c.label.empty()) t += " " + c.label;
  if (!c.generator.empty()) t += " [" + c.generator + "]";
  if (is_dot(c)) t += ": " + us(*c.latency_us);
  if (!c.failure_tag.empty()) t += " (" + c.failure_tag + ")";
  return escape_html(t);
}

std::vector<BestChange> sorted_history(const DefinitionReport& def) {
  std::vector<BestChange> h = def.best_history;
  std::stable_sort(h.begin(), h.end(), [](const BestChange& a, const BestChange& b) { return a.seq < b.seq; });
  // A non-positive latency cannot sit on a log axis and means nothing as a best.
  std::erase_if(h, [](const BestChange& b) { return !(b.latency_us > 0); });
  return h;
}

int last_position(const DefinitionReport& def) {
  int last = 0;
  for (const auto& c : def.candidates) last = std::max(last, c.seq);
  for (const auto& b : def.best_history) last = std::max(last, b.seq);
  return last;
}

// Failure tags on the strip with their counts, in order of first appearance along the trajectory.
std::vector<std::pair<std::string, int>> strip_tags(const DefinitionReport& def) {
  std::vector<const CandidatePoint*> order;
  for (const auto& c : def.candidates) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
  std::vector<std::pair<std::string, int>> tags;
  for (const auto* c : order) {
    if (is_dot(*c)) continue;
    const std::string tag = strip_tag(*c);
    auto it = std::find_if(tags.begin(), tags.end(), [&](const auto& t) { return t.first == tag; });
    if (it == tags.end()) {
      tags.emplace_back(tag, 1);
    } else {
      ++it->second;
    }
  }
  return tags;
}

// A small inline SVG for a legend entry.
std::string swatch(const std::string& shape) {
  return "<svg class=\"swatch\" width=\"26\" height=\"14\" viewBox=\"0 0 26 14\" aria-hidden=\"true\">" + shape +
         "</svg>";
}

}  // namespace

bool is_dot(const CandidatePoint& c) { return c.passed && c.latency_us && *c.latency_us > 0; }

std::string trajectory_svg(const DefinitionReport& def) {
  if (def.candidates.empty()) return {};
  const std::vector<BestChange> history = sorted_history(def);
  const int last = last_position(def);
  const Scale x(-0.5, last + 0.5, kLeft, kRight, false);

  std::vector<double> values;
  for (const auto& c : def.candidates) {
    if (is_dot(c)) values.push_back(*c.latency_us);
  }
  for (const auto& b : history) values.push_back(b.latency_us);
  if (def.baseline_us && *def.baseline_us > 0) values.push_back(*def.baseline_us);
  const bool empty_plot = values.empty();
  const Scale y = empty_plot ? Scale(0, 1, kBottom, kTop, false) : latency_scale(values, kBottom, kTop);

  std::string s = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {} {}\" data-scale=\"{}\" role=\"img\" aria-label=\"{}\">"
      "<title>Latency of each candidate of {} along the search</title>\n",
      kWidth, kHeight, y.log() ? "log" : "linear", escape_html("trajectory of " + def.definition),
      escape_html(def.definition));
  s += fmt::format("<rect class=\"plot\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", kLeft, kTop,
                   kRight - kLeft, kBottom - kTop, palette::kPlotBackground);
  s += fmt::format("<rect class=\"strip\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"{}\" stroke-width=\"0.5\"/>\n",
                   kLeft, kStripTop, kRight - kLeft, kStripBottom - kStripTop, palette::kGrid);

  // Axes, grid and ticks.
  s += "<g class=\"axes\" font-size=\"12\" fill=\"" + std::string(palette::kAxis) + "\">\n";
  if (!empty_plot) {
    for (const double t : y.ticks()) {
      s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1\"/>", kLeft, kRight,
                       num(y(t)), num(y(t)), palette::kGrid);
      s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", kLeft - 8, num(y(t) + 4), format_number(t));
    }
  }
  for (const double t : x.ticks()) {
    if (t < 0 || t != std::floor(t)) continue;
    s += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"{3}\"/>", num(x(t)), kStripBottom,
                     kStripBottom + 5, palette::kAxis);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(x(t)), kTickLabelY, format_number(t));
  }
  s += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"{3}\"/>", kLeft, kTop, kBottom, palette::kAxis);
  s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\"/>\n", kLeft, kRight, kBottom, palette::kAxis);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">failed</text>\n", kLeft - 8, kStripBottom - 5);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">trajectory position (candidates in evaluation order)</text>\n",
                   (kLeft + kRight) / 2, kAxisTitleY);
  s += fmt::format("<text transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\">latency (\u00b5s{})</text>\n",
                   (kTop + kBottom) / 2, y.log() ? ", log scale" : "");
  s += "</g>\n";
  if (empty_plot) {
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\" fill=\"{}\">no candidate passed yet</text>\n",
                     (kLeft + kRight) / 2, (kTop + kBottom) / 2, palette::kAxis);
  }

  if (def.baseline_us && *def.baseline_us > 0) {
    const std::string yb = num(y(*def.baseline_us));
    s += fmt::format("<line class=\"baseline\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"2\" "
                     "stroke-dasharray=\"8 5\"><title>baseline: {4}</title></line>\n",
                     kLeft, kRight, yb, palette::kBaseline, us(*def.baseline_us));
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\" fill=\"{}\">baseline {}</text>\n",
                     kRight - 4, num(y(*def.baseline_us) - 5), palette::kBaseline, us(*def.baseline_us));
  }

  if (!history.empty()) {
    std::string d = "M" + num(x(history[0].seq)) + " " + num(y(history[0].latency_us));
    for (std::size_t i = 1; i < history.size(); ++i) {
      d += " H" + num(x(history[i].seq)) + " V" + num(y(history[i].latency_us));
    }
    d += " H" + num(x(last));
    s += fmt::format("<path class=\"best\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" "
                     "stroke-linejoin=\"round\"><title>running best: {}</title></path>\n",
                     d, palette::kBest, us(history.back().latency_us));
    for (const auto& b : history) {
      if (!b.rollback) continue;
      s += fmt::format("<circle class=\"rollback\" cx=\"{}\" cy=\"{}\" r=\"8\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\">"
                       "<title>rollback to c{} at #{}: {}</title></circle>\n",
                       num(x(b.seq)), num(y(b.latency_us)), palette::kBest, b.candidate_id, b.seq, us(b.latency_us));
    }
  }

  const double mark_width = std::clamp((kRight - kLeft) / (last + 1) * 0.6, 1.5, 8.0);
  for (const auto& c : def.candidates) {
    if (is_dot(c)) {
      s += fmt::format("<circle class=\"dot\" cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\"><title>{}</title></circle>\n",
                       num(x(c.seq)), num(y(*c.latency_us)), palette::kDot, candidate_title(c));
    } else {
      const std::string tag = strip_tag(c);
      s += fmt::format("<rect class=\"fail\" data-tag=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
                       "<title>{}</title></rect>\n",
                       escape_html(tag), num(x(c.seq) - mark_width / 2), kStripTop + 2, num(mark_width),
                       kStripBottom - kStripTop - 4, palette::tag_color(tag), candidate_title(c));
    }
  }
  s += "</svg>\n";
  return s;
}

std::string trajectory_legend(const DefinitionReport& def) {
  std::string s = "<ul class=\"legend\">";
  const auto item = [&](const std::string& shape, const std::string& text) {
    s += "<li>" + swatch(shape) + escape_html(text) + "</li>";
  };
  const auto dots = std::count_if(def.candidates.begin(), def.candidates.end(), is_dot);
  item(fmt::format("<circle cx=\"13\" cy=\"7\" r=\"5\" fill=\"{}\"/>", palette::kDot),
       fmt::format("passing candidate ({})", dots));
  const auto history = sorted_history(def);
  if (!history.empty()) {
    item(fmt::format("<path d=\"M1 11 H12 V3 H25\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\"/>", palette::kBest),
         fmt::format("running best ({} change{})", history.size(), history.size() == 1 ? "" : "s"));
  }
  if (std::any_of(history.begin(), history.end(), [](const BestChange& b) { return b.rollback; })) {
    item(fmt::format("<circle cx=\"13\" cy=\"7\" r=\"5\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>", palette::kBest),
         "rollback");
  }
  if (def.baseline_us && *def.baseline_us > 0) {
    item(fmt::format("<line x1=\"1\" x2=\"25\" y1=\"7\" y2=\"7\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>",
                     palette::kBaseline),
         "baseline");
  }
  for (const auto& [tag, count] : strip_tags(def)) {
    item(fmt::format("<rect x=\"9\" y=\"1\" width=\"8\" height=\"12\" fill=\"{}\"/>", palette::tag_color(tag)),
         fmt::format("{} ({})", tag, count));
  }
  s += "</ul>\n";
  return s;
}

}  // namespace kforge::report
