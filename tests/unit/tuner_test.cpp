// The tuner (src/tuner): parsing "tunables" (with errors that name file, line and field),
// enumeration under constraints, the header rewrite, candidate folders (materialize), and the
// strategies over a synthetic, deterministic cost whose minimum is known by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/exploit_staging.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/rng.h"
#include "trace/dataset.h"
#include "tuner/tuner.h"

namespace kforge::tuner {
namespace {

namespace fs = std::filesystem;

const fs::path g_scratch = test_support::scratch_folder("kforge-tuner-test");

const std::string kHeader =
    "// tile sizes\n"
    "#pragma once\n"
    "#define ROWS_PER_WARP 2  // rows per warp\n"
    "#  define WARPS_PER_BLOCK\t8\n"
    "#define WARPS_PER_BLOCK_MAX 32\n"
    "// #define ROWS_PER_WARP 99 is a comment, not a define\n";

const std::string kTunables = R"({
    "header": "tune.h",
    "params": {"ROWS_PER_WARP": [1, 2, 4], "WARPS_PER_BLOCK": [4, 8, 16]},
    "constraints": ["ROWS_PER_WARP * WARPS_PER_BLOCK <= 32"]
  })";

// A solution folder <scratch>/<name> with kernel.cpp, tune.h (kHeader unless given) and a
// solution.json whose "tunables" value is `tunables` (omitted when empty).
fs::path write_solution(const std::string& name, const std::string& tunables, const std::string& header = kHeader,
                        bool inline_header = false) {
  const fs::path dir = g_scratch / "solutions" / name;
  fs::remove_all(dir);
  write_file_atomic(dir / "kernel.cpp", "#include \"tune.h\"\nint rows() { return ROWS_PER_WARP; }\n");
  Json header_source = {{"path", "tune.h"}};
  if (inline_header) {
    header_source["content"] = header;
  } else {
    write_file_atomic(dir / "tune.h", header);
  }
  std::string json = "{\n  \"name\": \"" + name + "\",\n  \"definition\": \"gdn_decode_qk4_v8_d128_k_last\",\n" +
                     "  \"author\": \"tests\",\n"
                     "  \"spec\": {\"language\": \"cpp\", \"target_hardware\": [\"cpu\"], \"entry_point\": \"kernel.cpp::run\"},\n"
                     "  \"sources\": [{\"path\": \"kernel.cpp\"}, " + header_source.dump() + "]";
  if (!tunables.empty()) json += ",\n  \"tunables\": " + tunables;
  write_file_atomic(dir / "solution.json", json + "\n}\n");
  return dir;
}

Config config(std::initializer_list<std::pair<std::string, std::int64_t>> values) { return Config{values}; }

// The error parse_tunables raises for this "tunables" value (and header).
Error parse_error(const std::string& tunables, const std::string& header = kHeader) {
  const fs::path dir = write_solution("bad", tunables, header);
  try {
    parse_tunables(load_solution_dir(dir));
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), (dir / "solution.json").string());
    return e;
  }
  ADD_FAILURE() << "no error for " << tunables;
  return Error("none");
}

// ---- Parsing ---------------------------------------------------------------------------------

TEST(TunerParse, ReadsParamsConstraintsAndHeaderDefaults) {
  const TunableSpace space = parse_tunables(load_solution_dir(write_solution("ok", kTunables)));
  EXPECT_EQ(space.header, "tune.h");
  ASSERT_EQ(space.params.size(), 2u);
  EXPECT_EQ(space.params[0].name, "ROWS_PER_WARP");
  EXPECT_EQ(space.params[0].values, (std::vector<std::int64_t>{1, 2, 4}));
  EXPECT_EQ(space.params[1].name, "WARPS_PER_BLOCK");
  EXPECT_EQ(space.params[1].values, (std::vector<std::int64_t>{4, 8, 16}));
  EXPECT_EQ(space.constraints, std::vector<std::string>{"ROWS_PER_WARP * WARPS_PER_BLOCK <= 32"});
  // The values the header defines now; WARPS_PER_BLOCK_MAX and the commented line do not count.
  EXPECT_EQ(space.defaults, config({{"ROWS_PER_WARP", 2}, {"WARPS_PER_BLOCK", 8}}));
  EXPECT_EQ(space.defaults.label(), "ROWS_PER_WARP=2,WARPS_PER_BLOCK=8");
  EXPECT_EQ(space.defaults.get("WARPS_PER_BLOCK"), 8);
  EXPECT_FALSE(space.defaults.get("TILE").has_value());
}

TEST(TunerParse, NoTunables) {
  const SolutionDir s = load_solution_dir(write_solution("plain", ""));
  EXPECT_FALSE(has_tunables(s));
  EXPECT_TRUE(has_tunables(load_solution_dir(write_solution("ok", kTunables))));
  try {
    parse_tunables(s);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "tunables");
    EXPECT_NE(std::string(e.what()).find("no tunables (expected an object {\"header\", \"params\", \"constraints\"})"),
              std::string::npos) << e.what();
  }
}

TEST(TunerParse, ErrorsNameFieldLineAndExpectation) {
  struct Case {
    std::string tunables, field, message;
  };
  const std::vector<Case> cases = {
      {"[1, 2]", "tunables", "got [1,2] (expected an object"},
      {R"({"header": "tune.h", "param": {"A": [1]}})", "tunables.param", "unknown key 'param' (expected header, params, constraints)"},
      {R"({"params": {"ROWS_PER_WARP": [1]}})", "tunables.header", "expected"},
      {R"({"header": "nope.h", "params": {"ROWS_PER_WARP": [1]}})", "tunables.header",
       "header 'nope.h' is not among the sources"},
      {R"({"header": "tune.h"})", "tunables.params", "expected an object {NAME: [integers]}"},
      {R"({"header": "tune.h", "params": {}})", "tunables.params", "expected a non-empty object"},
      {R"({"header": "tune.h", "params": {"ROWS_PER_WARP": []}})", "tunables.params.ROWS_PER_WARP",
       "got [] (expected a non-empty list of integers)"},
      {R"({"header": "tune.h", "params": {"ROWS_PER_WARP": [1, "2"]}})", "tunables.params.ROWS_PER_WARP[1]",
       "got \"2\" (expected an integer)"},
      {R"({"header": "tune.h", "params": {"ROWS_PER_WARP": [1, 2.5]}})", "tunables.params.ROWS_PER_WARP[1]",
       "got 2.5 (expected an integer)"},
      {R"({"header": "tune.h", "params": {"ROWS_PER_WARP": [1, 2, 1]}})", "tunables.params.ROWS_PER_WARP[2]",
       "duplicate value 1 (expected distinct values)"},
      {R"({"header": "tune.h", "params": {"2X": [1]}})", "tunables.params.2X", "param name '2X' is not a C identifier"},
      {R"({"header": "tune.h", "params": {"TILE": [1]}})", "tunables.header",
       "in tune.h: no line '#define TILE <integer>' (expected one such line per param)"},
      {R"({"header": "tune.h", "params": {"ROWS_PER_WARP": [1]}, "constraints": ["ROWS_PER_WARP < FOO"]})",
       "tunables.constraints[0]", "unknown name 'FOO'"},
      {R"({"header": "tune.h", "params": {"ROWS_PER_WARP": [1]}, "constraints": ["ROWS_PER_WARP <"]})",
       "tunables.constraints[0]", "cannot evaluate constraint"},
      {R"({"header": "tune.h", "params": {"ROWS_PER_WARP": [1]}, "constraints": "ROWS_PER_WARP < 2"})",
       "tunables.constraints", "expected"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.tunables);
    const Error e = parse_error(c.tunables);
    EXPECT_EQ(e.field(), c.field) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    EXPECT_GT(e.line(), 0) << e.what();
  }
  // The line is the one of the offending field.
  const Error e = parse_error("{\n\"header\": \"tune.h\",\n\"params\": {\n\"ROWS_PER_WARP\": [1, \"x\"]}}");
  EXPECT_EQ(e.line(), 10) << e.what();  // "tunables" is on line 7 of solution.json, "ROWS_PER_WARP" on 10
}

TEST(TunerParse, HeaderDefinesMustBeSingleIntegers) {
  const std::string tunables = R"({"header": "tune.h", "params": {"TILE": [1, 2]}})";
  Error e = parse_error(tunables, "#define TILE (4)\n");
  EXPECT_EQ(e.field(), "tunables.header");
  EXPECT_NE(std::string(e.what()).find("'#define TILE' is followed by ' (4)' (expected a decimal integer"),
            std::string::npos) << e.what();
  e = parse_error(tunables, "#define TILE 4u\n");
  EXPECT_NE(std::string(e.what()).find("followed by ' 4u'"), std::string::npos) << e.what();
  e = parse_error(tunables, "#define TILE 4\n#define TILE 8\n");
  EXPECT_NE(std::string(e.what()).find("2 lines '#define TILE' (expected exactly one per param)"), std::string::npos)
      << e.what();
  e = parse_error(tunables, "#define TILE\n");
  EXPECT_NE(std::string(e.what()).find("expected a decimal integer"), std::string::npos) << e.what();
}

// ---- Header rewrite --------------------------------------------------------------------------

TEST(TunerHeader, RewritesOnlyTheValues) {
  EXPECT_EQ(read_define(kHeader, "ROWS_PER_WARP"), 2);
  EXPECT_EQ(read_define(kHeader, "WARPS_PER_BLOCK"), 8);
  EXPECT_EQ(read_define(kHeader, "WARPS_PER_BLOCK_MAX"), 32);
  EXPECT_EQ(read_define("#define NEG -3\n", "NEG"), -3);
  const std::string out = rewrite_defines(kHeader, config({{"ROWS_PER_WARP", 16}, {"WARPS_PER_BLOCK", 4}}));
  EXPECT_EQ(out,
            "// tile sizes\n"
            "#pragma once\n"
            "#define ROWS_PER_WARP 16  // rows per warp\n"
            "#  define WARPS_PER_BLOCK\t4\n"
            "#define WARPS_PER_BLOCK_MAX 32\n"
            "// #define ROWS_PER_WARP 99 is a comment, not a define\n");
  // A file without a final newline, Windows line ends.
  EXPECT_EQ(rewrite_defines("#define A 1\r\n#define B 2", config({{"B", 7}})), "#define A 1\r\n#define B 7");
  EXPECT_THROW(rewrite_defines(kHeader, config({{"TILE", 1}})), Error);
}

// ---- Enumeration -----------------------------------------------------------------------------

TEST(TunerEnumerate, CartesianProductInOrderWithConstraintsApplied) {
  const TunableSpace space = parse_tunables(load_solution_dir(write_solution("ok", kTunables)));
  std::vector<std::string> labels;
  for (const Config& c : enumerate(space)) labels.push_back(c.label());
  // 9 combinations; 4*16 = 64 > 32 is pruned, 2*16 and 4*8 (= 32) are kept.
  EXPECT_EQ(labels, (std::vector<std::string>{
                        "ROWS_PER_WARP=1,WARPS_PER_BLOCK=4", "ROWS_PER_WARP=1,WARPS_PER_BLOCK=8",
                        "ROWS_PER_WARP=1,WARPS_PER_BLOCK=16", "ROWS_PER_WARP=2,WARPS_PER_BLOCK=4",
                        "ROWS_PER_WARP=2,WARPS_PER_BLOCK=8", "ROWS_PER_WARP=2,WARPS_PER_BLOCK=16",
                        "ROWS_PER_WARP=4,WARPS_PER_BLOCK=4", "ROWS_PER_WARP=4,WARPS_PER_BLOCK=8"}));
  EXPECT_FALSE(satisfies(space, config({{"ROWS_PER_WARP", 4}, {"WARPS_PER_BLOCK", 16}})));
}

TEST(TunerEnumerate, SeveralConstraintsAllMustHold) {
  TunableSpace space;
  space.params = {{"A", {1, 2, 3, 4, 5, 6}}, {"B", {1, 2, 3}}};
  space.constraints = {"A % B == 0", "A // B >= 2 or B == 1"};
  std::vector<std::string> labels;
  for (const Config& c : enumerate(space)) labels.push_back(c.label());
  // B=1: all six; B=2: A in {4, 6} (A=2 gives 2//2 = 1); B=3: A=6.
  EXPECT_EQ(labels, (std::vector<std::string>{"A=1,B=1", "A=2,B=1", "A=3,B=1", "A=4,B=1", "A=4,B=2", "A=5,B=1",
                                              "A=6,B=1", "A=6,B=2", "A=6,B=3"}));
}

TEST(TunerEnumerate, RefusesHugeSpacesAndReportsFailingConstraints) {
  TunableSpace space;
  std::vector<std::int64_t> values(100);
  for (int i = 0; i < 100; ++i) values[static_cast<std::size_t>(i)] = i;
  space.params = {{"A", values}, {"B", values}, {"C", values}, {"D", values}};  // 1e8
  EXPECT_THROW(enumerate(space), Error);
  space.params = {{"A", {0, 1}}};
  space.constraints = {"1 // A == 1"};  // division by zero for A = 0
  try {
    enumerate(space);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "tunables.constraints[0]");
    EXPECT_NE(std::string(e.what()).find("division by zero"), std::string::npos) << e.what();
  }
}

// ---- Materialize -----------------------------------------------------------------------------

// Every regular file under dir, by relative path, with its contents.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_text_file(e.path());
  }
  return out;
}

TEST(TunerMaterialize, WritesACandidateAndLeavesTheOriginalUntouched) {
  const fs::path dir = write_solution("base", kTunables);
  write_file_atomic(dir / "notes" / "README.md", "kept as is\n");
  const auto before = snapshot(dir);
  const SolutionDir base = load_solution_dir(dir);
  const Config c = config({{"ROWS_PER_WARP", 4}, {"WARPS_PER_BLOCK", 4}});
  const fs::path into = g_scratch / "candidates";
  const fs::path out = materialize(base, c, into);

  EXPECT_EQ(out, into / "base@ROWS_PER_WARP=4,WARPS_PER_BLOCK=4");
  EXPECT_EQ(snapshot(dir), before);
  const auto after = snapshot(out);
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [path, text] : before) {
    ASSERT_TRUE(after.count(path)) << path;
    if (path == "tune.h") {
      EXPECT_EQ(after.at(path), rewrite_defines(text, c));
    } else if (path != "solution.json") {
      EXPECT_EQ(after.at(path), text) << path;
    }
  }
  EXPECT_NE(after.at("tune.h").find("#define ROWS_PER_WARP 4  // rows per warp\n"), std::string::npos);
  const SolutionDir cand = load_solution_dir(out);
  EXPECT_EQ(cand.solution.name, "base@ROWS_PER_WARP=4,WARPS_PER_BLOCK=4");
  EXPECT_EQ(cand.solution.definition, base.solution.definition);
  EXPECT_EQ(cand.solution.spec.entry_point, base.solution.spec.entry_point);
  // The candidate is itself tunable, with this config as its defaults; its own candidates do not
  // stack suffixes.
  EXPECT_EQ(parse_tunables(cand).defaults, c);
  EXPECT_EQ(candidate_name(cand.solution.name, config({{"ROWS_PER_WARP", 1}})), "base@ROWS_PER_WARP=1");

  // Again with other values: the folder of the same config is replaced, a new config adds one.
  write_file_atomic(out / "stale.txt", "left from an earlier run\n");
  EXPECT_EQ(materialize(base, c, into), out);
  EXPECT_FALSE(fs::exists(out / "stale.txt"));
  materialize(base, config({{"ROWS_PER_WARP", 1}, {"WARPS_PER_BLOCK", 16}}), into);
  EXPECT_TRUE(fs::exists(into / "base@ROWS_PER_WARP=1,WARPS_PER_BLOCK=16" / "tune.h"));
  // Nothing temporary is left beside the candidates.
  for (const auto& e : fs::directory_iterator(into)) EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
}

TEST(TunerMaterialize, RewritesAnInlineHeader) {
  const SolutionDir base = load_solution_dir(write_solution("inline", kTunables, kHeader, true));
  const fs::path out = materialize(base, config({{"ROWS_PER_WARP", 1}}), g_scratch / "candidates");
  EXPECT_FALSE(fs::exists(out / "tune.h"));
  const SolutionDir cand = load_solution_dir(out);
  const auto header = std::find_if(cand.solution.sources.begin(), cand.solution.sources.end(),
                                   [](const SourceFile& f) { return f.path == "tune.h"; });
  ASSERT_NE(header, cand.solution.sources.end());
  EXPECT_EQ(header->content, rewrite_defines(kHeader, config({{"ROWS_PER_WARP", 1}})));
  EXPECT_EQ(cand.solution.name, "inline@ROWS_PER_WARP=1");
}

TEST(TunerMaterialize, Refusals) {
  const fs::path dir = write_solution("base", kTunables);
  const SolutionDir base = load_solution_dir(dir);
  EXPECT_THROW(materialize(base, config({{"TILE", 4}}), g_scratch / "candidates"), Error);
  EXPECT_THROW(materialize(base, config({{"ROWS_PER_WARP", 4}}), dir / "candidates"), Error);
  EXPECT_FALSE(fs::exists(dir / "candidates"));
  EXPECT_THROW(materialize(load_solution_dir(write_solution("plain", "")), config({}), g_scratch / "candidates"), Error);
}

// ---- Strategies ------------------------------------------------------------------------------

// A synthetic cost over X, Y in 0..7 whose true minimum is X=5, Y=2 (value 10; every other
// config costs at least 11). A rung measures it with a deterministic relative error of up to
// 30% at rung 0, 15% at rung 1 and none at rung 2, so the rung-0 ranking is informative but not
// exact, and the top rung is exact.
struct SyntheticCost {
  static constexpr int kTop = 2;
  int calls = 0;
  double budget = 0;  // a rung-r call costs 3^r, as a rung with 3x the workloads would
  std::map<int, int> calls_per_rung;

  static double truth(const Config& c) {
    const double x = static_cast<double>(*c.get("X")), y = static_cast<double>(*c.get("Y"));
    return 10 + (x - 5) * (x - 5) + 2 * (y - 2) * (y - 2);
  }
  static double error(const Config& c, int rung) {
    const CounterRng rng(stable_hash(c.label()));
    return 0.3 * (kTop - rung) / kTop * (2 * rng.uniform(static_cast<std::uint64_t>(rung)) - 1);
  }
  TrialOutcome operator()(const Config& c, int rung) {
    ++calls;
    ++calls_per_rung[rung];
    budget += std::pow(3.0, rung);
    return {true, truth(c) * (1 + error(c, rung)), 0, ""};
  }
};

std::vector<Config> xy_space() {
  TunableSpace space;
  space.params = {{"X", {0, 1, 2, 3, 4, 5, 6, 7}}, {"Y", {0, 1, 2, 3, 4, 5, 6, 7}}};
  return enumerate(space);
}

BatchTrialFn fn(SyntheticCost& cost) {
  return one_at_a_time([&cost](const Config& c, int rung) { return cost(c, rung); });
}

TEST(TunerStrategy, GridEvaluatesEveryConfigInOrderAndFindsTheMinimum) {
  const auto configs = xy_space();
  SyntheticCost cost;
  const TuneResult r = grid_search(configs, fn(cost), SyntheticCost::kTop);
  ASSERT_EQ(r.trials.size(), 64u);
  for (std::size_t i = 0; i < configs.size(); ++i) {
    EXPECT_EQ(r.trials[i].config, configs[i]);
    EXPECT_EQ(r.trials[i].rung, SyntheticCost::kTop);
  }
  ASSERT_NE(r.best_config(), nullptr);
  EXPECT_EQ(r.best_config()->label(), "X=5,Y=2");
  EXPECT_DOUBLE_EQ(r.trials[*r.best].outcome.latency_us, 10);
}

TEST(TunerStrategy, SuccessiveHalvingFindsTheMinimumForLessThanTheGrid) {
  const auto configs = xy_space();
  // The rung-0 ranking is informative: the true minimum is among the best third at rung 0.
  std::vector<double> rung0;
  for (const auto& c : configs) rung0.push_back(SyntheticCost::truth(c) * (1 + SyntheticCost::error(c, 0)));
  std::vector<double> sorted = rung0;
  std::sort(sorted.begin(), sorted.end());
  const double min_at_rung0 = rung0[static_cast<std::size_t>(5 * 8 + 2)];
  ASSERT_LT(std::find(sorted.begin(), sorted.end(), min_at_rung0) - sorted.begin(), 64 / 3);

  SyntheticCost sh_cost, grid_cost;
  const TuneResult sh = successive_halving(configs, {0, 3, 3, 1}, fn(sh_cost));
  grid_search(configs, fn(grid_cost), SyntheticCost::kTop);
  ASSERT_NE(sh.best_config(), nullptr);
  EXPECT_EQ(sh.best_config()->label(), "X=5,Y=2");
  // 64 configs at rung 0, the best 64/3 = 21 at rung 1, the best 21/3 = 7 at rung 2.
  EXPECT_EQ(sh_cost.calls_per_rung, (std::map<int, int>{{0, 64}, {1, 21}, {2, 7}}));
  EXPECT_EQ(sh.trials.size(), 92u);
  EXPECT_EQ(sh.trials[*sh.best].rung, 2);
  // Full-fidelity evaluations and total cost: 7 vs 64, 64 + 63 + 63 = 190 vs 64 * 9 = 576.
  EXPECT_LT(sh_cost.calls_per_rung[2], grid_cost.calls_per_rung[2]);
  EXPECT_DOUBLE_EQ(sh_cost.budget, 190);
  EXPECT_DOUBLE_EQ(grid_cost.budget, 576);
  // Each rung evaluates a subset of the one before, the fastest of it.
  std::set<std::string> rung1;
  for (const auto& t : sh.trials) {
    if (t.rung == 1) rung1.insert(t.config.label());
  }
  for (const auto& t : sh.trials) {
    if (t.rung == 2) {
      EXPECT_TRUE(rung1.count(t.config.label())) << t.config.label();
    }
  }
  std::vector<double> rung0_of_kept;
  for (const auto& t : sh.trials) {
    if (t.rung == 0 && rung1.count(t.config.label())) rung0_of_kept.push_back(t.outcome.latency_us);
  }
  EXPECT_EQ(rung0_of_kept.size(), 21u);
  EXPECT_LE(*std::max_element(rung0_of_kept.begin(), rung0_of_kept.end()), sorted[20]);
}

TEST(TunerStrategy, SuccessiveHalvingStopsWhenOneConfigIsLeft) {
  const auto configs = xy_space();
  SyntheticCost cost;
  // 8 configs drawn, eta 4: rung 0 keeps 2, rung 1 keeps 1 and stops before rung 2.
  const TuneResult r = successive_halving(configs, {8, 4, 3, 7}, fn(cost));
  EXPECT_EQ(cost.calls_per_rung, (std::map<int, int>{{0, 8}, {1, 2}}));
  ASSERT_NE(r.best_config(), nullptr);
  EXPECT_EQ(r.trials[*r.best].rung, 1);
  // The winner is the faster of the two at rung 1.
  const Trial& a = r.trials[8];
  const Trial& b = r.trials[9];
  EXPECT_EQ(*r.best_config(), a.outcome.latency_us <= b.outcome.latency_us ? a.config : b.config);
}

TEST(TunerStrategy, FailedTrialsAreDroppedAndAllFailedMeansNoBest) {
  const auto configs = xy_space();
  // The true minimum fails: the next best (X=5, Y=1 and X=5, Y=3: 12; X=4/6, Y=2: 11) must win.
  const BatchTrialFn failing_min = one_at_a_time([](const Config& c, int) {
    if (c.label() == "X=5,Y=2") return TrialOutcome{false, 0, 0, "INCORRECT_NUMERICAL"};
    return TrialOutcome{true, SyntheticCost::truth(c), 0.1, ""};
  });
  const TuneResult g = grid_search(configs, failing_min);
  EXPECT_EQ(g.best_config()->label(), "X=4,Y=2");  // 11, before X=6,Y=2 (also 11): the first on ties
  const TuneResult sh = successive_halving(configs, {0, 2, 4, 1}, failing_min);
  EXPECT_EQ(sh.best_config()->label(), "X=4,Y=2");
  for (const auto& t : sh.trials) {
    if (t.rung > 0) {
      EXPECT_NE(t.config.label(), "X=5,Y=2");
    }
  }
  const BatchTrialFn all_fail = one_at_a_time([](const Config&, int) { return TrialOutcome{false, 0, 0, "COMPILE_ERROR"}; });
  EXPECT_EQ(grid_search(configs, all_fail).best_config(), nullptr);
  const TuneResult none = successive_halving(configs, {0, 3, 3, 1}, all_fail);
  EXPECT_EQ(none.best_config(), nullptr);
  EXPECT_EQ(none.trials.size(), 64u);  // rung 0 only
}

// Each rung reaches the batch function as one call with all its configs, and the result is the
// one-at-a-time result whatever order a batch evaluates them in.
TEST(TunerStrategy, EachRungIsOneBatchAndTheResultDoesNotDependOnItsOrder) {
  const auto configs = xy_space();
  SyntheticCost cost;
  std::vector<std::pair<int, std::size_t>> batches;  // (rung, configs)
  const BatchTrialFn reversed = [&](const std::vector<Config>& cs, int rung) {
    batches.emplace_back(rung, cs.size());
    std::vector<TrialOutcome> out(cs.size());
    for (std::size_t i = cs.size(); i-- > 0;) out[i] = cost(cs[i], rung);  // last config first
    return out;
  };
  const TuneResult batched = successive_halving(configs, {0, 4, 3, 1}, reversed);
  EXPECT_EQ(batches, (std::vector<std::pair<int, std::size_t>>{{0, 64}, {1, 16}, {2, 4}}));
  SyntheticCost again;
  const TuneResult single = successive_halving(configs, {0, 4, 3, 1}, fn(again));
  ASSERT_EQ(batched.trials.size(), single.trials.size());
  for (std::size_t i = 0; i < single.trials.size(); ++i) {
    EXPECT_EQ(batched.trials[i].config, single.trials[i].config) << i;
    EXPECT_EQ(batched.trials[i].outcome.latency_us, single.trials[i].outcome.latency_us) << i;
  }
  EXPECT_EQ(batched.best, single.best);
  // A batch function that loses an outcome is an error, not a silent misattribution.
  const BatchTrialFn short_by_one = [&](const std::vector<Config>& cs, int rung) {
    std::vector<TrialOutcome> out;
    for (std::size_t i = 1; i < cs.size(); ++i) out.push_back(cost(cs[i], rung));
    return out;
  };
  try {
    grid_search(configs, short_by_one);
    ADD_FAILURE() << "accepted 63 outcomes for 64 configs";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a batch trial returned 63 outcomes for 64 configs"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("one outcome per config"), std::string::npos) << e.what();
  }
}

TEST(TunerStrategy, RandomIsSeededAndWithoutReplacement) {
  const auto configs = xy_space();
  const auto labels = [&](std::uint64_t seed, std::size_t count) {
    SyntheticCost cost;
    std::vector<std::string> out;
    for (const auto& t : random_search(configs, count, seed, fn(cost)).trials) out.push_back(t.config.label());
    return out;
  };
  const auto a = labels(11, 20);
  EXPECT_EQ(a.size(), 20u);
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()).size(), 20u);
  EXPECT_EQ(labels(11, 20), a);
  EXPECT_NE(labels(12, 20), a);
  // A longer draw with the same seed starts with the shorter one.
  const auto longer = labels(11, 30);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), longer.begin()));
  // Asking for more than there are: each config exactly once, so the true minimum is found.
  SyntheticCost cost;
  const TuneResult all = random_search(configs, 1000, 3, fn(cost), SyntheticCost::kTop);
  EXPECT_EQ(all.trials.size(), 64u);
  std::set<std::string> seen;
  for (const auto& t : all.trials) seen.insert(t.config.label());
  EXPECT_EQ(seen.size(), 64u);
  EXPECT_EQ(all.best_config()->label(), "X=5,Y=2");
}

TEST(TunerStrategy, RunStrategyByNameAndBadOptions) {
  const auto configs = xy_space();
  SyntheticCost cost;
  EXPECT_EQ(run_strategy(configs, {"grid", 0, 1, 3, 3}, fn(cost)).best_config()->label(), "X=5,Y=2");
  EXPECT_EQ(cost.calls_per_rung, (std::map<int, int>{{2, 64}}));  // the top rung
  EXPECT_EQ(run_strategy(configs, {"random", 5, 1, 3, 3}, fn(cost)).trials.size(), 5u);
  EXPECT_EQ(run_strategy(configs, {"halving", 0, 1, 3, 3}, fn(cost)).best_config()->label(), "X=5,Y=2");
  EXPECT_THROW(run_strategy(configs, {"anneal", 0, 1, 3, 3}, fn(cost)), Error);
  EXPECT_THROW(run_strategy(configs, {"random", 0, 1, 3, 3}, fn(cost)), Error);
  EXPECT_THROW(run_strategy(configs, {"grid", 0, 1, 3, 0}, fn(cost)), Error);
  EXPECT_THROW(successive_halving(configs, {0, 1, 3, 1}, fn(cost)), Error);
  EXPECT_THROW(successive_halving(configs, {0, 3, 0, 1}, fn(cost)), Error);
  // An empty space: no trials, no best.
  EXPECT_EQ(successive_halving({}, {}, fn(cost)).best_config(), nullptr);
  EXPECT_TRUE(grid_search({}, fn(cost)).trials.empty());
}

// Every shipped solution with tunables (solutions/*): the space parses, its defaults are one of
// its configurations (the header's values are listed and satisfy the constraints), and the
// constraints leave more than one configuration to search.
TEST(TunerShippedSolutions, DefaultsAreAConfigurationOfTheSpace) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(KFORGE_SOURCE_DIR) / "solutions")) {
    const SolutionDir solution = load_solution_dir(entry.path());
    if (!has_tunables(solution)) continue;
    SCOPED_TRACE(entry.path().string());
    const TunableSpace space = parse_tunables(solution);
    const auto configs = enumerate(space);
    EXPECT_GT(configs.size(), 1u);
    EXPECT_TRUE(satisfies(space, space.defaults)) << space.defaults.label();
    EXPECT_NE(std::find(configs.begin(), configs.end(), space.defaults), configs.end()) << space.defaults.label();
    ++checked;
  }
  EXPECT_GE(checked, 1);  // solutions/gdn_decode_hopper declares tunables
}

}  // namespace
}  // namespace kforge::tuner
