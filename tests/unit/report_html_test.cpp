// The HTML search report (src/report): the page's structure (escaping, one mark per candidate,
// baseline, empty definitions, no external resource, balanced tags), the chart scales, and a
// screenshot taken by headless chromium, decoded with libpng, in which the chart must be
// visible: one dot of the dot color per passing candidate inside the plot, the running best's
// color, the dashed baseline, the failure strip's tag colors. Skips only when no chromium is
// installed (CI installs it: tools/install_deps.sh).
#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "common/exploit_staging.h"
#include "harness/process.h"
#include "report/chart_scale.h"
#include "report/html_report.h"
#include "report/palette.h"

namespace kforge::report {
namespace {

namespace fs = std::filesystem;

const fs::path g_scratch = test_support::scratch_folder("kforge-report-test");

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// One definition: `latencies` for the passing candidates (positions 0, 1, ...), then failing
// candidates with these tags; the running best follows the passing ones.
DefinitionReport definition(const std::vector<double>& latencies, const std::vector<std::string>& failure_tags,
                            std::optional<double> baseline) {
  DefinitionReport d;
  d.definition = "gdn_decode_qk4_v8_d128_k_last";
  d.baseline_us = baseline;
  int seq = 0;
  double best = 0;
  for (const double lat : latencies) {
    CandidatePoint c{100 + seq, seq, "c" + std::to_string(100 + seq), "agent", true, lat, "", "2026-01-01T00:00:00Z"};
    if (seq == 0 || lat < best) {
      best = lat;
      d.best_history.push_back({seq, c.id, lat, false});
    } else {
      c.failure_tag = "slower";
    }
    d.candidates.push_back(c);
    ++seq;
  }
  for (const auto& tag : failure_tags) {
    d.candidates.push_back({100 + seq, seq, "c" + std::to_string(100 + seq), "agent", false, std::nullopt, tag, ""});
    ++seq;
  }
  return d;
}

ReportData one(DefinitionReport d) {
  ReportData r;
  r.title = "search report";
  r.generated = "2026-01-01T00:00:00Z";
  r.definitions.push_back(std::move(d));
  return r;
}

// Non-void elements open and close in order (void ones, comments and the doctype stand alone).
void expect_balanced_tags(const std::string& html) {
  static const std::set<std::string> kVoid{"meta", "br", "hr", "img", "input", "link", "col", "wbr"};
  std::vector<std::string> stack;
  const std::regex tag(R"(<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>)");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[2];
    const bool closing = (*it)[1] == "/", self_closing = (*it)[3] == "/";
    if (closing) {
      ASSERT_FALSE(stack.empty()) << "</" << name << "> closes nothing";
      ASSERT_EQ(stack.back(), name) << "</" << name << "> closes <" << stack.back() << ">";
      stack.pop_back();
    } else if (!self_closing && !kVoid.count(name)) {
      stack.push_back(name);
    }
  }
  EXPECT_TRUE(stack.empty()) << stack.size() << " unclosed, first <" << stack.front() << ">";
}

void expect_self_contained(const std::string& html) {
  for (const char* external : {"http:", "https:", "<script", "src=", "url(", "@import", "<link", "<iframe"}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }
}

// ---- Structure -------------------------------------------------------------------------------

TEST(ReportHtml, EscapesEveryText) {
  const std::string evil = "<script>alert('x')</script>&\"\x01";
  const std::string escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;";
  DefinitionReport d = definition({50, 40}, {"compile_error"}, 60.0);
  d.definition = evil;
  d.candidates[0].label = evil;
  d.candidates[1].generator = evil;
  d.candidates[2].failure_tag = evil;
  d.leaderboard.push_back({evil, 101, 40, 1.5, 3, 3, true});
  d.lineage_of_best.push_back({100, evil, 50.0, evil});
  ReportData r = one(d);
  r.title = evil;
  r.runs = {evil};
  r.generated = evil;
  const std::string html = render_html(r);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("alert('x')"), std::string::npos);
  EXPECT_EQ(html.find('\x01'), std::string::npos);
  // title (twice: <title> and <h1>), generated, run, definition (toc absent with one: heading,
  // chart title and label), candidate titles, tag (legend, data-tag, failure table), leader,
  // lineage label and summary.
  EXPECT_GE(count(html, escaped), 12u) << html;
  expect_balanced_tags(html);
  expect_self_contained(html);
}

TEST(ReportHtml, OneDotPerPassingCandidateAndOneMarkPerOther) {
  DefinitionReport d = definition({90, 70, 80, 40, 45, 30}, {"compile_error", "incorrect", "timeout", "incorrect"}, 100.0);
  // A passing candidate without a latency is not a dot: it goes to the strip.
  d.candidates.push_back({200, 10, "c200", "tune", true, std::nullopt, "", ""});
  const std::string html = render_html(one(d));
  EXPECT_EQ(count(html, "<circle class=\"dot\""), 6u);
  EXPECT_EQ(count(html, "<rect class=\"fail\""), 5u);
  EXPECT_EQ(count(html, "data-tag=\"incorrect\""), 2u);
  EXPECT_EQ(count(html, "data-tag=\"unmeasured\""), 1u);
  EXPECT_NE(html.find("passing candidate (6)"), std::string::npos);
  EXPECT_NE(html.find("incorrect (2)"), std::string::npos);
  // Dots go left to right in trajectory order, and up as latency goes down (linear axis here).
  const std::regex dot(R"re(<circle class="dot" cx="([0-9.]+)" cy="([0-9.]+)")re");
  std::vector<std::pair<double, double>> xy;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), dot); it != std::sregex_iterator(); ++it) {
    xy.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  }
  ASSERT_EQ(xy.size(), 6u);
  for (std::size_t i = 1; i < xy.size(); ++i) EXPECT_GT(xy[i].first, xy[i - 1].first);
  const std::vector<double> lat{90, 70, 80, 40, 45, 30};
  for (std::size_t i = 0; i < 6; ++i) {
    for (std::size_t j = 0; j < 6; ++j) {
      if (lat[i] < lat[j]) {
        EXPECT_GT(xy[i].second, xy[j].second) << i << " " << j;
      }
    }
  }
  EXPECT_NE(html.find("data-scale=\"linear\""), std::string::npos);
  // The running best: 90 -> 70 -> 40 -> 30, a step line with three rises of the plot.
  const std::regex best(R"re(<path class="best" d="([^"]*)")re");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(html, m, best));
  EXPECT_EQ(count(m[1], " V"), 3u) << m[1];
  EXPECT_EQ(count(m[1], " H"), 4u) << m[1];
  EXPECT_NE(html.find("running best (4 changes)"), std::string::npos);
  expect_balanced_tags(html);
}

TEST(ReportHtml, DashedBaselineOnlyWhenSet) {
  const std::string with = render_html(one(definition({50, 40}, {}, 60.0)));
  const std::regex baseline(R"re(<line class="baseline"[^>]*stroke-dasharray="[0-9 ]+")re");
  EXPECT_TRUE(std::regex_search(with, baseline));
  EXPECT_NE(with.find("baseline 60 \u00b5s"), std::string::npos);
  const std::string without = render_html(one(definition({50, 40}, {}, std::nullopt)));
  EXPECT_EQ(without.find("class=\"baseline\""), std::string::npos);
  EXPECT_EQ(without.find("stroke-dasharray"), std::string::npos);
}

TEST(ReportHtml, LogScaleWhenTheRangeIsWide) {
  const std::string html = render_html(one(definition({5000, 800, 90, 12}, {}, std::nullopt)));
  EXPECT_NE(html.find("data-scale=\"log\""), std::string::npos);
  EXPECT_NE(html.find("latency (\u00b5s, log scale)"), std::string::npos);
}

TEST(ReportHtml, EmptyDefinitionsAndEmptyReport) {
  ReportData r = one(definition({}, {}, 10.0));
  r.definitions.push_back(definition({}, {"timeout"}, std::nullopt));  // candidates, none passed
  const std::string html = render_html(r);
  EXPECT_NE(html.find("No candidates evaluated yet."), std::string::npos);
  EXPECT_EQ(count(html, "<svg class=\"chart\""), 1u);  // only the second definition has a chart
  EXPECT_NE(html.find("no candidate passed yet"), std::string::npos);
  EXPECT_NE(html.find("No leaderboard entries."), std::string::npos);
  EXPECT_NE(html.find("<a href=\"#def-1\">"), std::string::npos);
  expect_balanced_tags(html);
  expect_self_contained(html);

  const std::string none = render_html(ReportData{});
  EXPECT_EQ(none.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(none.find("<title>kforge search report</title>"), std::string::npos);
  EXPECT_NE(none.find("No definitions in this report."), std::string::npos);
  expect_balanced_tags(none);
}

TEST(ReportHtml, LeaderboardLineageAndFailuresOverTime) {
  DefinitionReport d = definition({100, 80, 50}, {"compile_error", "compile_error", "incorrect"}, 200.0);
  d.leaderboard = {{"gdn@TILE=4", 102, 50, 4, 54, 54, true}, {"baseline", 1, 200, 1, 54, 54, false}};
  d.lineage_of_best = {{100, "seed", 100.0, "the seed"}, {101, "agent", 80.0, "fused loads"}, {102, "tune", 50.0, "TILE=4"}};
  const std::string html = render_html(one(d));
  EXPECT_NE(html.find("<tr class=\"best\"><td class=\"num\">1</td><td>gdn@TILE=4<span class=\"badge\">best</span>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">4\u00d7</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">54/54</td>"), std::string::npos);
  // Root first, each step with its change from the previous one.
  const auto seed = html.find("the seed"), fused = html.find("fused loads"), tile = html.find("TILE=4</span>");
  ASSERT_NE(seed, std::string::npos);
  EXPECT_LT(seed, fused);
  EXPECT_LT(fused, tile);
  EXPECT_NE(html.find("80 \u00b5s <span class=\"down\">(\u221220%)</span>"), std::string::npos);
  EXPECT_NE(html.find("50 \u00b5s <span class=\"down\">(\u221237.5%)</span>"), std::string::npos);
  // Six positions, windows of one: the failure table has a row per position.
  EXPECT_NE(html.find("<tr><td>3\u20133</td><td class=\"num\">1</td><td class=\"num zero\">0</td><td class=\"num\">1</td>"),
            std::string::npos) << html;
  EXPECT_NE(html.find("best 50 \u00b5s (c102) \u00b7 speedup 4\u00d7 over the baseline"), std::string::npos);
  // Which workloads each figure is over: the summary and chart the representatives, the leaderboard all.
  EXPECT_NE(html.find("on the representative workloads: baseline 200 \u00b5s \u00b7 best 50"), std::string::npos);
  EXPECT_NE(html.find("<th class=\"num\">latency, all workloads (\u00b5s)</th>"), std::string::npos);
}

TEST(ReportScale, TicksAndNumbers) {
  const Scale lin = latency_scale({12, 47}, 300, 0);
  EXPECT_FALSE(lin.log());
  EXPECT_LE(lin.lo(), 12);
  EXPECT_GE(lin.hi(), 47);
  const auto ticks = lin.ticks();
  ASSERT_GE(ticks.size(), 4u);
  ASSERT_LE(ticks.size(), 10u);
  for (std::size_t i = 1; i < ticks.size(); ++i) EXPECT_NEAR(ticks[i] - ticks[i - 1], ticks[1] - ticks[0], 1e-9);
  EXPECT_DOUBLE_EQ(lin(lin.lo()), 300);
  EXPECT_DOUBLE_EQ(lin(lin.hi()), 0);
  const Scale zero = latency_scale({0.5, 3}, 300, 0);
  EXPECT_GE(zero.lo(), 0);
  EXPECT_EQ(format_number(zero.ticks().front()), "0");  // never "-0"

  const Scale log = latency_scale({3, 4000}, 300, 0);
  EXPECT_TRUE(log.log());
  EXPECT_EQ(log.ticks(), (std::vector<double>{5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}));
  EXPECT_NEAR(log(std::sqrt(log.lo() * log.hi())), 150, 1e-9);  // the geometric middle

  EXPECT_EQ(format_number(0.125), "0.125");
  EXPECT_EQ(format_number(0.0125), "0.0125");
  EXPECT_EQ(format_number(2.0), "2");
  EXPECT_EQ(format_number(12.5), "12.5");
  EXPECT_EQ(format_number(40), "40");
  EXPECT_EQ(format_number(1250.4), "1250");
  EXPECT_EQ(format_number(0), "0");
}

// ---- Screenshot ------------------------------------------------------------------------------

// chromium (Debian) or chromium-browser, from PATH; empty when neither is installed.
fs::path find_chromium() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  for (const char* name : {"chromium", "chromium-browser"}) {
    std::size_t begin = 0;
    while (begin <= dirs.size()) {
      const std::size_t end = std::min(dirs.find(':', begin), dirs.size());
      const fs::path candidate = fs::path(dirs.substr(begin, end - begin)) / name;
      if (!dirs.substr(begin, end - begin).empty() && fs::exists(candidate)) return candidate;
      begin = end + 1;
    }
  }
  return {};
}

struct Rgb {
  int r, g, b;
};

Rgb parse_color(std::string_view hex) {
  const auto part = [&](std::size_t i) { return std::stoi(std::string(hex.substr(i, 2)), nullptr, 16); };
  return {part(1), part(3), part(5)};
}

struct Image {
  int width = 0, height = 0;
  std::vector<unsigned char> rgba;

  Rgb at(int x, int y) const {
    const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) * 4;
    return {rgba[i], rgba[i + 1], rgba[i + 2]};
  }
  // Within `tol` on every channel (anti-aliased edges blend; the inside of a shape is exact).
  bool near(int x, int y, Rgb c, int tol = 12) const {
    const Rgb p = at(x, y);
    return std::abs(p.r - c.r) <= tol && std::abs(p.g - c.g) <= tol && std::abs(p.b - c.b) <= tol;
  }
};

Image read_png(const fs::path& file) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, file.c_str())) throw std::runtime_error(std::string("libpng: ") + png.message);
  png.format = PNG_FORMAT_RGBA;
  Image img;
  img.width = static_cast<int>(png.width);
  img.height = static_cast<int>(png.height);
  img.rgba.resize(static_cast<std::size_t>(png.width) * png.height * 4);
  if (!png_image_finish_read(&png, nullptr, img.rgba.data(), 0, nullptr)) {
    throw std::runtime_error(std::string("libpng: ") + png.message);
  }
  return img;
}

struct Box {
  int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
  bool empty() const { return x1 < 0; }
};

// Connected groups (4-neighbour) of at least `min_pixels` pixels near color c inside the box.
int blobs(const Image& img, const Box& box, Rgb c, int min_pixels) {
  const int w = box.x1 - box.x0 + 1, h = box.y1 - box.y0 + 1;
  std::vector<char> seen(static_cast<std::size_t>(w) * static_cast<std::size_t>(h), 0);
  const auto idx = [&](int x, int y) { return static_cast<std::size_t>(y - box.y0) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x - box.x0); };
  int found = 0;
  for (int y = box.y0; y <= box.y1; ++y) {
    for (int x = box.x0; x <= box.x1; ++x) {
      if (seen[idx(x, y)] || !img.near(x, y, c)) continue;
      int size = 0;
      std::vector<std::pair<int, int>> todo{{x, y}};
      seen[idx(x, y)] = 1;
      while (!todo.empty()) {
        const auto [px, py] = todo.back();
        todo.pop_back();
        ++size;
        for (const auto& [dx, dy] : {std::pair{1, 0}, {-1, 0}, {0, 1}, {0, -1}}) {
          const int nx = px + dx, ny = py + dy;
          if (nx < box.x0 || nx > box.x1 || ny < box.y0 || ny > box.y1 || seen[idx(nx, ny)] || !img.near(nx, ny, c)) continue;
          seen[idx(nx, ny)] = 1;
          todo.emplace_back(nx, ny);
        }
      }
      if (size >= min_pixels) ++found;
    }
  }
  return found;
}

TEST(ReportHtml, ScreenshotShowsTheChart) {
  const fs::path chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "no chromium or chromium-browser in PATH (tools/install_deps.sh installs it)";
  // Seven passing candidates with distinct latencies, three failures with distinct tags.
  const std::vector<std::string> tags{"compile_error", "incorrect", "timeout"};
  const ReportData data = one(definition({95, 80, 88, 60, 66, 45, 52}, tags, 110.0));
  fs::create_directories(g_scratch);
  const fs::path html = g_scratch / "report.html", png = g_scratch / "report.png";
  std::ofstream(html) << render_html(data);
  ProcessOptions options;
  options.timeout_seconds = 120;
  const ProcessResult run = run_process({chromium.string(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                         "--force-device-scale-factor=1", "--no-first-run",
                                         "--user-data-dir=" + (g_scratch / "chromium-profile").string(),
                                         "--screenshot=" + png.string(), "--window-size=1200,900", "file://" + html.string()},
                                        options);
  ASSERT_TRUE(run.ok() && fs::exists(png)) << run.describe() << "\n" << run.output;
  const Image img = read_png(png);
  ASSERT_EQ(img.width, 1200);
  ASSERT_EQ(img.height, 900);

  // Not blank: a good share of the page is neither white nor near-white.
  std::size_t inked = 0;
  for (int y = 0; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) inked += !img.near(x, y, {255, 255, 255}, 8);
  }
  EXPECT_GT(inked, static_cast<std::size_t>(img.width * img.height / 20)) << "the page looks blank";

  // The plot: the pixels of its background color, a large box.
  Box plot;
  const Rgb background = parse_color(palette::kPlotBackground);
  for (int y = 0; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) {
      if (!img.near(x, y, background, 0)) continue;
      plot.x0 = std::min(plot.x0, x), plot.y0 = std::min(plot.y0, y);
      plot.x1 = std::max(plot.x1, x), plot.y1 = std::max(plot.y1, y);
    }
  }
  ASSERT_FALSE(plot.empty()) << "no plot background in the screenshot";
  EXPECT_GT(plot.x1 - plot.x0, 600);
  EXPECT_GT(plot.y1 - plot.y0, 150);

  // One dot per passing candidate, the running best, the dashed baseline (several dashes on one row).
  EXPECT_EQ(blobs(img, plot, parse_color(palette::kDot), 20), 7);
  EXPECT_GE(blobs(img, plot, parse_color(palette::kBest), 10), 1);
  const Rgb baseline = parse_color(palette::kBaseline);
  int most_dashes = 0;
  for (int y = plot.y0; y <= plot.y1; ++y) {
    int dashes = 0;
    for (int x = plot.x0 + 1; x <= plot.x1; ++x) dashes += img.near(x, y, baseline) && !img.near(x - 1, y, baseline);
    most_dashes = std::max(most_dashes, dashes);
  }
  EXPECT_GE(most_dashes, 20) << "no dashed baseline row";

  // The failure strip below the plot: a mark of each tag's color.
  const Box strip{plot.x0, plot.y1 + 1, plot.x1, std::min(img.height - 1, plot.y1 + 40)};
  for (const auto& tag : tags) EXPECT_EQ(blobs(img, strip, parse_color(palette::tag_color(tag)), 10), 1) << tag;
}

}  // namespace
}  // namespace kforge::report
