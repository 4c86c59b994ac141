#include <fmt/format.h>

#include <filesystem>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "report/html_report.h"
#include "search/report_builder.h"

namespace kforge {
namespace {

struct ReportCliOptions {
  std::string db = store::default_store_file().string(), out = "runs/report.html";
  std::int64_t run = 0;
  search::ReportOptions report;
  bool json = false;
};

void run_report(ReportCliOptions& o) {
  if (!std::filesystem::exists(o.db)) {
    throw Error("no search store", "a database written by `kforge search` (--db or $KFORGE_DB)").at_file(o.db);
  }
  store::Store st(o.db);
  if (o.run) o.report.run = o.run;
  const report::ReportData data = search::build_report(st, o.report);
  write_file_atomic(o.out, report::render_html(data));
  std::size_t points = 0;
  for (const auto& d : data.definitions) points += d.candidates.size();
  if (o.json) {
    print_out(Json{{"out", o.out}, {"definitions", data.definitions.size()}, {"runs", data.runs.size()}, {"candidates", points}}
                  .dump(2) +
              "\n");
  } else {
    print_out(fmt::format("wrote {} ({} runs, {} definitions, {} candidates)\n", o.out, data.runs.size(),
                          data.definitions.size(), points));
  }
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportCliOptions>();
  auto* cmd = app.add_subcommand(
      "report", "Write one self-contained HTML page from the search store: per definition the trajectory (each passing "
                "candidate a dot, the running best a line, the baseline dashed), the leaderboard, the lineage of the best "
                "and the failure tags over time");
  cmd->add_option("--db", o->db, "The search store (default: $KFORGE_DB or runs/kforge.db)");
  cmd->add_option("-o,--out", o->out, "The page to write (default runs/report.html)");
  cmd->add_option("--run", o->run, "Only this run (default: every run)");
  cmd->add_option("-d,--definition", o->report.definition, "Only this definition");
  cmd->add_option("--title", o->report.title, "Page title");
  add_json_flag(*cmd, o->json);
  cmd->callback([o] { run_report(*o); });
}

}  // namespace kforge
