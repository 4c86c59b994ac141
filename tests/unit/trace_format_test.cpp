// Trace format: lossless round trips of the bundled files, and one test per kind of bad input,
// each asserting the one-line message names file, line, field and what was expected.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/safetensors.h"
#include "trace/axes.h"
#include "trace/constraint.h"
#include "trace/dataset.h"
#include "trace/validate.h"

namespace kforge {
namespace {

namespace fs = std::filesystem;

const fs::path kData = fs::path(KFORGE_SOURCE_DIR) / "data";

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// A scratch dataset with the bundled gdn_decode definition and one workload line.
class TempDataset {
 public:
  TempDataset() : m_root(fs::temp_directory_path() / ("kforge_trace_test_" + std::to_string(::getpid()) + "_" +
                                                       std::to_string(s_counter++))) {
    fs::remove_all(m_root);
    fs::create_directories(m_root / "definitions");
  }
  ~TempDataset() { fs::remove_all(m_root); }
  const fs::path& root() const { return m_root; }
  fs::path add_definition(const std::string& name, const std::string& text) {
    const fs::path p = m_root / "definitions" / (name + ".json");
    write(p, text);
    return p;
  }
  fs::path add_workloads(const std::string& name, const std::string& lines) {
    const fs::path p = m_root / "workloads" / (name + ".jsonl");
    write(p, lines);
    return p;
  }

 private:
  static inline int s_counter = 0;
  fs::path m_root;
};

const std::string kDecode = "gdn_decode_qk4_v8_d128_k_last";
std::string decode_def_text() { return read(kData / "definitions/gdn" / (kDecode + ".json")); }

std::string decode_workload(const std::string& axes_json, const std::string& extra_inputs = "") {
  return R"({"definition":")" + kDecode + R"(","solution":null,"workload":{"uuid":"u1","axes":)" + axes_json +
         R"(,"inputs":{"scale":{"type":"scalar","value":0.125})" + extra_inputs + R"(}},"evaluation":null})" + "\n";
}

// The first error of validating every workload of a dataset.
Error first_workload_error(const fs::path& root) {
  const Dataset ds = load_dataset(root);
  for (const auto& w : ds.workloads) {
    auto check = validate_workload(ds, w);
    if (!check.ok()) return check.errors.front();
  }
  ADD_FAILURE() << "no error reported";
  return Error("none");
}

// ---- round trips ----

TEST(TraceRoundTrip, DefinitionsAreByteIdentical) {
  const Dataset ds = load_dataset(kData);
  ASSERT_EQ(ds.definitions.size(), 5u);
  for (const auto& d : ds.definitions) {
    // The contest files are json.dumps(indent=2) + newline: nlohmann's dump(2) writes the same.
    EXPECT_EQ(to_json(d.value).dump(2) + "\n", read(d.file)) << d.file;
  }
}

TEST(TraceRoundTrip, WorkloadLinesKeepEveryKeyInOrder) {
  const Dataset ds = load_dataset(kData);
  ASSERT_EQ(ds.workloads.size(), 324u);
  std::map<std::string, std::vector<std::string>> lines;
  for (const auto& w : ds.workloads) {
    if (!lines.count(w.file)) {
      std::istringstream in(read(w.file));
      for (std::string l; std::getline(in, l);) lines[w.file].push_back(l);
    }
    const Json original = Json::parse(lines[w.file][static_cast<std::size_t>(w.line - 1)]);
    // ordered_json equality compares key order too.
    EXPECT_EQ(to_json(w.value), original) << w.file << ":" << w.line;
  }
}

TEST(TraceRoundTrip, UnknownFieldsSurvive) {
  Json j = Json::parse(decode_def_text());
  j["x_future_field"] = {{"a", 1}};
  j["inputs"]["q"]["x_layout"] = "row";
  const Json back = to_json(parse_definition(j));
  EXPECT_EQ(back, j);
}

TEST(TraceRoundTrip, EvaluatedTraceWithNonFiniteErrors) {
  const std::string line =
      R"({"definition":"d","workload":{"uuid":"u","axes":{"n":3},"inputs":{}},"solution":"s","evaluation":{"status":"INCORRECT_NUMERICAL","environment":{"hardware":"NVIDIA H100","libs":{"cuda":"13.0"}},"timestamp":"2026-11-21T10:00:00","log":"","correctness":{"max_relative_error":"Infinity","max_absolute_error":"NaN","extra":{"matched_ratio":0.5}},"performance":null}})";
  const Trace t = parse_trace(Json::parse(line));
  ASSERT_TRUE(t.evaluation.has_value());
  EXPECT_EQ(t.evaluation->status, EvalStatus::kIncorrectNumerical);
  EXPECT_TRUE(std::isinf(t.evaluation->correctness->max_relative_error));
  EXPECT_TRUE(std::isnan(t.evaluation->correctness->max_absolute_error));
  EXPECT_EQ(to_json(t), Json::parse(line));
}

TEST(TraceRoundTrip, SolutionSchema) {
  const Json j = Json::parse(R"({"name":"s1","definition":"d","author":"me","spec":{"language":"cuda",
    "target_hardware":["H100"],"entry_point":"k.cu::run","dependencies":[]},"sources":[{"path":"k.cu","content":"x"}]})");
  const Solution s = parse_solution(j);
  EXPECT_EQ(s.spec.entry_file(), "k.cu");
  EXPECT_EQ(s.spec.entry_symbol(), "run");
  EXPECT_TRUE(s.spec.destination_passing_style);
  EXPECT_EQ(to_json(s), j);
}

// ---- bad input, one test per kind ----

TEST(TraceBadInput, MalformedJsonNamesFileAndLine) {
  TempDataset ds;
  std::string text = decode_def_text();
  text.insert(text.find("\"op_type\""), "oops ");  // line 4 of the file
  const fs::path file = ds.add_definition(kDecode, text);
  try {
    load_dataset(ds.root());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), file.string());
    EXPECT_EQ(e.line(), 4);
    EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(file.string() + ":4:"), std::string::npos) << e.what();
  }
}

TEST(TraceBadInput, UnknownDtypeNamesFieldAndChoices) {
  TempDataset ds;
  std::string text = decode_def_text();
  const auto pos = text.find("\"bfloat16\"");  // the first input, q
  text.replace(pos, 10, "\"bfloat7\"");
  const fs::path file = ds.add_definition(kDecode, text);
  try {
    load_dataset(ds.root());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "inputs.q.dtype");
    EXPECT_EQ(e.line(), 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(pos), '\n')));
    EXPECT_NE(std::string(e.what()).find("unknown dtype 'bfloat7'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected one of float32, float16, bfloat16"), std::string::npos) << e.what();
  }
}

TEST(TraceBadInput, AxisWithoutValue) {
  TempDataset ds;
  ds.add_definition(kDecode, decode_def_text());
  const fs::path file = ds.add_workloads(kDecode, decode_workload("{}"));
  const Error e = first_workload_error(ds.root());
  EXPECT_EQ(e.file(), file.string());
  EXPECT_EQ(e.line(), 1);
  EXPECT_EQ(e.field(), "workload.axes");
  EXPECT_NE(std::string(e.what()).find("var axis 'batch_size' has no value"), std::string::npos) << e.what();
}

TEST(TraceBadInput, ShapeNamingAnUndeclaredAxis) {
  TempDataset ds;
  std::string text = decode_def_text();
  text.replace(text.find("\"batch_size\",\n        \"seq_len\""), 12, "\"batchsize\"");
  ds.add_definition(kDecode, text);
  try {
    load_dataset(ds.root());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "inputs.q.shape[0]");
    EXPECT_NE(std::string(e.what()).find("axis 'batchsize' is not declared"), std::string::npos) << e.what();
    EXPECT_GT(e.line(), 1);
  }
}

TEST(TraceBadInput, WorkloadAxesContradictingAConstraint) {
  TempDataset ds;
  const std::string prefill = "gdn_prefill_qk4_v8_d128_k_last";
  ds.add_definition(prefill, read(kData / "definitions/gdn" / (prefill + ".json")));
  ds.add_workloads(prefill, R"({"definition":")" + prefill +
                                R"(","solution":null,"workload":{"uuid":"p","axes":{"total_seq_len":8,"num_seqs":2,"len_cu_seqlens":5},"inputs":{}},"evaluation":null})" "\n");
  const Error e = first_workload_error(ds.root());
  EXPECT_NE(std::string(e.what()).find("constraint 'len_cu_seqlens == num_seqs + 1' does not hold: 5 == 3"),
            std::string::npos) << e.what();
  EXPECT_EQ(e.line(), 1);
}

TEST(TraceBadInput, InputShapesThatDisagreeOnAnAxis) {
  const Definition def = load_definition_file(kData / "definitions/gdn" / (kDecode + ".json")).value;
  std::vector<Shape> shapes{{3, 1, 4, 128}, {2, 1, 4, 128}, {3, 1, 8, 128}, {3, 8, 128, 128}, {8}, {3, 1, 8}, {8}, {3, 1, 8}, {}};
  try {
    infer_axes(def, shapes);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input 'k' dim 0 is 2 but axis 'batch_size' is 3 from input 'q'"),
              std::string::npos) << e.what();
  }
}

TEST(TraceBadInput, MissingSafetensorsFile) {
  TempDataset ds;
  ds.add_definition(kDecode, decode_def_text());
  ds.add_workloads(kDecode, decode_workload(R"({"batch_size":2})",
                                            R"(,"q":{"type":"safetensors","path":"./blob/q.safetensors","tensor_key":"q"})"));
  const Error e = first_workload_error(ds.root());
  EXPECT_EQ(e.field(), "workload.inputs.q.path");
  EXPECT_NE(std::string(e.what()).find("safetensors file not found: " + (ds.root() / "blob/q.safetensors").string()),
            std::string::npos) << e.what();
}

TEST(TraceBadInput, MissingBlobIsANoteWhenTheManifestAllowsSynthesis) {
  TempDataset ds;
  ds.add_definition(kDecode, decode_def_text());
  write(ds.root() / "kforge-dataset.json", R"({"missing_blobs": "synthesize"})");
  ds.add_workloads(kDecode, decode_workload(R"({"batch_size":2})",
                                            R"(,"q":{"type":"safetensors","path":"./blob/q.safetensors","tensor_key":"q"})"));
  const Dataset d = load_dataset(ds.root());
  const auto check = validate_workload(d, d.workloads.front());
  EXPECT_TRUE(check.ok());
  ASSERT_EQ(check.notes.size(), 1u);
  EXPECT_EQ(check.notes[0], "q: blob ./blob/q.safetensors not bundled; synthesized");
}

TEST(TraceBadInput, MissingSafetensorsKey) {
  TempDataset ds;
  ds.add_definition(kDecode, decode_def_text());
  Tensor other(DType::kBFloat16, {2, 1, 4, 128});
  write_safetensors(ds.root() / "blob/q.safetensors", {{"query", &other}});
  ds.add_workloads(kDecode, decode_workload(R"({"batch_size":2})",
                                            R"(,"q":{"type":"safetensors","path":"blob/q.safetensors","tensor_key":"q"})"));
  const Error e = first_workload_error(ds.root());
  EXPECT_EQ(e.field(), "workload.inputs.q.tensor_key");
  EXPECT_NE(std::string(e.what()).find("key 'q' not in"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("(expected one of: query)"), std::string::npos) << e.what();
}

TEST(TraceBadInput, WrongTensorShapeInABlob) {
  TempDataset ds;
  ds.add_definition(kDecode, decode_def_text());
  Tensor q(DType::kBFloat16, {3, 1, 4, 128});
  write_safetensors(ds.root() / "blob/q.safetensors", {{"q", &q}});
  ds.add_workloads(kDecode, decode_workload(R"({"batch_size":2})",
                                            R"(,"q":{"type":"safetensors","path":"blob/q.safetensors","tensor_key":"q"})"));
  const Error e = first_workload_error(ds.root());
  EXPECT_NE(std::string(e.what()).find("blob tensor 'q' has shape [3, 1, 4, 128] (expected shape [2, 1, 4, 128] from the axes)"),
            std::string::npos) << e.what();
}

TEST(TraceBadInput, ScalarOfTheWrongType) {
  TempDataset ds;
  ds.add_definition(kDecode, decode_def_text());
  std::string line = decode_workload(R"({"batch_size":2})");
  line.replace(line.find("0.125"), 5, "\"big\"");
  ds.add_workloads(kDecode, line);
  try {
    load_dataset(ds.root());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "workload.inputs.scale.value");
    EXPECT_NE(std::string(e.what()).find("(expected an int, float or bool)"), std::string::npos) << e.what();
  }
}

TEST(TraceBadInput, CollectModeReportsEveryBadRecord) {
  TempDataset ds;
  ds.add_definition(kDecode, decode_def_text());
  ds.add_workloads(kDecode, decode_workload(R"({"batch_size":1})") + "{not json\n" + decode_workload(R"({"batch_size":-1})"));
  std::vector<Error> errors;
  const Dataset d = load_dataset(ds.root(), &errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].line(), 2);
  EXPECT_EQ(errors[1].line(), 3);
  EXPECT_EQ(errors[1].field(), "workload.axes.batch_size");
  EXPECT_EQ(d.workloads.size(), 1u);
}

// ---- constraints ----

TEST(TraceConstraint, EvaluatesTheContestSubset) {
  Axes axes{{"a", 6}, {"b", 4}};
  ConstraintContext ctx;
  ctx.axes = &axes;
  Tensor cu(DType::kInt64, {3});
  cu.set(0, 0);
  cu.set(1, 2);
  cu.set(2, 7);
  ctx.shape_of = [](std::string_view n) -> std::optional<Shape> {
    if (n == "cu") return Shape{3};
    return std::nullopt;
  };
  auto holds = [&](const std::string& e) { return check_constraint(e, ctx)->holds; };
  EXPECT_TRUE(holds("a % b == 2"));
  EXPECT_TRUE(holds("a // b == 1 and not a < b"));
  EXPECT_TRUE(holds("-a % b == 2"));  // Python's sign rule
  EXPECT_TRUE(holds("b <= a <= 6"));
  EXPECT_FALSE(holds("b <= a < 6"));
  EXPECT_TRUE(holds("cu.shape[0] == 3 and cu.shape[-1] == 3"));
  EXPECT_FALSE(check_constraint("a == cu[-1].item()", ctx).has_value());  // needs values
  ctx.tensor_of = [&](std::string_view n) -> const Tensor* { return n == "cu" ? &cu : nullptr; };
  EXPECT_FALSE(holds("a == cu[-1].item()"));
  EXPECT_EQ(check_constraint("a == cu[-1].item()", ctx)->detail, "6 == 7");
  EXPECT_THROW(check_constraint("a == c", ctx), Error);
  EXPECT_THROW(check_constraint("a ==", ctx), Error);
}

}  // namespace
}  // namespace kforge
