#include "report/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <vector>

#include "report/chart_scale.h"
#include "report/html_text.h"
#include "report/palette.h"
#include "report/trajectory_chart.h"

namespace kforge::report {
namespace {

constexpr const char* kCss = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d232a;background:#fff;margin:0}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 20px}
h1{font-size:22px;margin:16px 0 2px}
h2{font-size:18px;margin:22px 0 4px;padding-top:8px;border-top:2px solid #e4e8ee}
h3{font-size:15px;margin:16px 0 6px}
.meta,.summary{color:#56606b;margin:2px 0}
.runs{margin:4px 0 0;padding-left:18px;color:#56606b;font-size:13px}
.toc{margin:6px 0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:4px 14px}
figure{margin:8px 0}
svg.chart{width:100%;height:auto;display:block}
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:2px 18px;padding:0;margin:4px 0 0 60px;font-size:13px}
ul.legend li{display:flex;align-items:center;gap:5px}
table{border-collapse:collapse;font-size:13px}
th,td{padding:3px 10px;border-bottom:1px solid #e4e8ee;text-align:left;vertical-align:top}
.leaderboard td:nth-child(2){overflow-wrap:anywhere}
th{background:#f5f7f9;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.zero{color:#b0b7bf}
tr.best td{background:#fff3f3;font-weight:600}
.badge{display:inline-block;padding:0 6px;margin-left:6px;border-radius:8px;font-size:11px;background:#d62728;color:#fff}
.tag{display:inline-block;width:9px;height:9px;margin-right:4px;border-radius:2px}
ol.lineage{margin:0;padding-left:22px}
ol.lineage li{margin:2px 0}
.cid{font-family:ui-monospace,Menlo,Consolas,monospace;color:#56606b}
.up{color:#b42318}.down{color:#1a7f37}
.what{color:#56606b}
.empty{color:#8a939c;font-style:italic}
footer{color:#8a939c;font-size:12px;margin:24px auto 16px}
)";

std::string us(double v) { return format_number(v) + " \u00b5s"; }

std::string best_latency_text(const DefinitionReport& def, const std::vector<BestChange>& history) {
  if (history.empty()) return {};
  const BestChange& b = history.back();
  std::string s = fmt::format("{}best {} (c{})", def.baseline_us ? " \u00b7 " : " ", us(b.latency_us), b.candidate_id);
  if (def.baseline_us && *def.baseline_us > 0 && b.latency_us > 0) {
    s += fmt::format(" \u00b7 speedup {}\u00d7 over the baseline", format_number(*def.baseline_us / b.latency_us));
  }
  return s;
}

std::string summary(const DefinitionReport& def) {
  const auto passed = std::count_if(def.candidates.begin(), def.candidates.end(), [](const auto& c) { return c.passed; });
  std::vector<BestChange> history = def.best_history;
  std::stable_sort(history.begin(), history.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  std::string s = fmt::format("{} candidates \u00b7 {} passed the gate \u00b7 {} failed", def.candidates.size(), passed,
                              def.candidates.size() - static_cast<std::size_t>(passed));
  // The chart's figures (latency on the representatives); the leaderboard's are over all workloads.
  if (def.baseline_us || !history.empty()) s += " \u00b7 on the representative workloads:";
  if (def.baseline_us) s += " baseline " + us(*def.baseline_us);
  s += best_latency_text(def, history);
  return "<p class=\"summary\">" + escape_html(s) + "</p>\n";
}

std::string leaderboard(const DefinitionReport& def) {
  if (def.leaderboard.empty()) return "<p class=\"empty\">No leaderboard entries.</p>\n";
  std::string s =
      "<table class=\"leaderboard\"><thead><tr><th class=\"num\">#</th><th>solution</th><th>candidate</th>"
      "<th class=\"num\">latency, all workloads (\u00b5s)</th><th class=\"num\">speedup vs baseline</th><th class=\"num\">workloads passed</th>"
      "</tr></thead><tbody>\n";
  for (std::size_t i = 0; i < def.leaderboard.size(); ++i) {
    const LeaderRow& r = def.leaderboard[i];
    s += fmt::format("<tr{}><td class=\"num\">{}</td><td>{}{}</td><td class=\"cid\">c{}</td><td class=\"num\">{}</td>"
                     "<td class=\"num\">{}</td><td class=\"num\">{}/{}</td></tr>\n",
                     r.best ? " class=\"best\"" : "", i + 1, escape_html(r.name), r.best ? "<span class=\"badge\">best</span>" : "",
                     r.candidate_id, format_number(r.latency_us),
                     r.speedup_vs_baseline > 0 ? format_number(r.speedup_vs_baseline) + "\u00d7" : "\u2014",
                     r.passed_workloads, r.total_workloads);
  }
  return s + "</tbody></table>\n";
}

std::string lineage(const DefinitionReport& def) {
  if (def.lineage_of_best.empty()) return "<p class=\"empty\">No best yet.</p>\n";
  std::string s = "<ol class=\"lineage\">\n";
  std::optional<double> previous;
  for (std::size_t i = 0; i < def.lineage_of_best.size(); ++i) {
    const LineageStep& step = def.lineage_of_best[i];
    s += fmt::format("<li><span class=\"cid\">c{}</span> {}", step.candidate_id, escape_html(step.label));
    if (step.latency_us) {
      s += " \u2014 " + us(*step.latency_us);
      if (previous && *previous > 0) {
        const double change = (*step.latency_us / *previous - 1) * 100;
        s += fmt::format(" <span class=\"{}\">({}{}%)</span>", change > 0 ? "up" : "down", change > 0 ? "+" : "\u2212",
                         format_number(std::abs(change)));
      }
      previous = step.latency_us;
    }
    if (i + 1 == def.lineage_of_best.size()) s += "<span class=\"badge\">best</span>";
    if (!step.summary.empty()) s += "<br><span class=\"what\">" + escape_html(step.summary) + "</span>";
    s += "</li>\n";
  }
  return s + "</ol>\n";
}

// Failure tags per window of trajectory positions (about eight windows), with the candidates
// evaluated and kept in each: how the kinds of failure change as the search goes on.
std::string failures_over_time(const DefinitionReport& def) {
  std::vector<std::string> tags;  // in order of first appearance
  std::vector<const CandidatePoint*> order;
  for (const auto& c : def.candidates) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
  int last = 0;
  for (const auto* c : order) {
    last = std::max(last, c->seq);
    if (!c->failure_tag.empty() && std::find(tags.begin(), tags.end(), c->failure_tag) == tags.end()) {
      tags.push_back(c->failure_tag);
    }
  }
  if (tags.empty()) return "<p class=\"empty\">No failures.</p>\n";
  const int window = std::max(1, (last + 8) / 8);
  struct Row {
    int candidates = 0, kept = 0;
    std::map<std::string, int> tags;
  };
  std::map<int, Row> rows;
  for (const auto* c : order) {
    Row& r = rows[std::max(0, c->seq) / window];
    ++r.candidates;
    if (c->failure_tag.empty()) {
      if (c->passed) ++r.kept;
    } else {
      ++r.tags[c->failure_tag];
    }
  }
  std::string s = "<table class=\"failures\"><thead><tr><th>positions</th><th class=\"num\">candidates</th>"
                  "<th class=\"num\">kept</th>";
  for (const auto& t : tags) {
    s += fmt::format("<th class=\"num\"><span class=\"tag\" style=\"background:{}\"></span>{}</th>", palette::tag_color(t),
                     escape_html(t));
  }
  s += "</tr></thead><tbody>\n";
  const auto cell = [](int n) {
    return n ? fmt::format("<td class=\"num\">{}</td>", n) : std::string("<td class=\"num zero\">0</td>");
  };
  for (const auto& [w, r] : rows) {
    s += fmt::format("<tr><td>{}\u2013{}</td>", w * window, w * window + window - 1) + cell(r.candidates) + cell(r.kept);
    for (const auto& t : tags) {
      const auto it = r.tags.find(t);
      s += cell(it == r.tags.end() ? 0 : it->second);
    }
    s += "</tr>\n";
  }
  return s + "</tbody></table>\n";
}

std::string definition_section(const DefinitionReport& def, std::size_t index) {
  std::string s = fmt::format("<section class=\"definition\" id=\"def-{}\">\n<h2>{}</h2>\n", index, escape_html(def.definition));
  s += summary(def);
  if (def.candidates.empty()) {
    s += "<p class=\"empty\">No candidates evaluated yet.</p>\n";
  } else {
    s += "<figure class=\"trajectory\">\n" + trajectory_svg(def) + "<figcaption>" + trajectory_legend(def) +
         "</figcaption>\n</figure>\n";
  }
  s += "<h3>Leaderboard</h3>\n" + leaderboard(def);
  s += "<h3>Lineage of the best</h3>\n" + lineage(def);
  if (!def.candidates.empty()) s += "<h3>Failures over time</h3>\n" + failures_over_time(def);
  return s + "</section>\n";
}

}  // namespace

std::string render_html(const ReportData& data) {
  const std::string title = escape_html(data.title.empty() ? "kforge search report" : data.title);
  std::size_t candidates = 0;
  for (const auto& d : data.definitions) candidates += d.candidates.size();
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  s += "<title>" + title + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n<header>\n";
  s += "<h1>" + title + "</h1>\n";
  s += "<p class=\"meta\">" +
       escape_html(fmt::format("{}{} definition{} \u00b7 {} candidates",
                               data.generated.empty() ? "" : "generated " + data.generated + " \u00b7 ",
                               data.definitions.size(), data.definitions.size() == 1 ? "" : "s", candidates)) +
       "</p>\n";
  if (!data.runs.empty()) {
    s += "<ul class=\"runs\">";
    for (const auto& r : data.runs) s += "<li>" + escape_html(r) + "</li>";
    s += "</ul>\n";
  }
  if (data.definitions.size() > 1) {
    s += "<ul class=\"toc\">";
    for (std::size_t i = 0; i < data.definitions.size(); ++i) {
      s += fmt::format("<li><a href=\"#def-{}\">{}</a></li>", i, escape_html(data.definitions[i].definition));
    }
    s += "</ul>\n";
  }
  s += "</header>\n<main>\n";
  if (data.definitions.empty()) s += "<p class=\"empty\">No definitions in this report.</p>\n";
  for (std::size_t i = 0; i < data.definitions.size(); ++i) s += definition_section(data.definitions[i], i);
  s += "</main>\n<footer>kforge search report</footer>\n</body>\n</html>\n";
  return s;
}

}  // namespace kforge::report
