// The forbidden-call scan and the source-text helpers under it: calls are found with file and
// line, comments, literals and #include lines are not code, identifiers are matched whole.
#include <gtest/gtest.h>

#include "search/source_text.h"
#include "search/static_scan.h"

namespace kforge::search {
namespace {

Solution with(std::vector<SourceFile> sources) {
  Solution s;
  s.sources = std::move(sources);
  return s;
}

TEST(SearchSourceTextTest, CommentsAndLiteralsAreBlankedKeepingLines) {
  const std::string src = "int a; // malloc(1)\n/* cudaFree(p)\n */ const char* s = \"getenv(x)\"; char c = '\\'';\n"
                          "auto r = R\"x(fopen(\"f\"))x\"; int n = 1'000;\n";
  const std::string code = blank_comments_and_literals(src);
  EXPECT_EQ(code.size(), src.size());
  EXPECT_EQ(std::count(code.begin(), code.end(), '\n'), 4);
  for (const char* gone : {"malloc", "cudaFree", "getenv", "fopen"}) EXPECT_EQ(code.find(gone), std::string::npos) << gone;
  EXPECT_NE(code.find("int n = 1'000;"), std::string::npos);  // a digit separator is not a literal
  EXPECT_NE(code.find("const char* s = \""), std::string::npos);
}

TEST(SearchSourceTextTest, TokenSetsAndJaccard) {
  EXPECT_EQ(code_tokens("int x = y + 2.5f; // z"), (std::set<std::string>{"int", "x", "y", "2.5f"}));
  EXPECT_DOUBLE_EQ(jaccard({"a", "b", "c"}, {"b", "c", "d"}), 0.5);  // 2 shared of 4
  EXPECT_DOUBLE_EQ(jaccard({}, {}), 1.0);
  EXPECT_DOUBLE_EQ(jaccard({"a"}, {}), 0.0);
}

TEST(SearchStaticScanTest, FindsForbiddenCallsWithFileAndLine) {
  const auto found = scan_sources(with({{"k.cu", "#include <chrono>\n__global__ void k() {}\nint run() {\n"
                                                 "  cudaMalloc(&p, 4); std::malloc (8);\n  cudaStreamSynchronize(s);\n"
                                                 "  auto t = std::chrono::steady_clock::now();\n  getenv(\"X\");\n}\n",
                                         {}},
                                        {"io.h", "std::ifstream in;\n", {}}}));
  ASSERT_EQ(found.size(), 6u) << describe(found);
  EXPECT_EQ(describe(found),
            "k.cu:4: cudaMalloc (allocation)\nk.cu:4: malloc (allocation)\nk.cu:5: cudaStreamSynchronize (synchronization)\n"
            "k.cu:6: chrono (timer)\nk.cu:7: getenv (environment)\nio.h:1: ifstream (file)\n");
}

TEST(SearchStaticScanTest, HonestCodeAndLookalikesPass) {
  // Names that contain a forbidden one, members that are not calls, comments and strings.
  const auto found = scan_sources(with({{"k.cpp",
                                         "#include <cstdlib>\n// never malloc() here\nint free_slots = 0; int my_free(int);\n"
                                         "int timeout; float clock_rate = 1; const char* m = \"sleep(1)\";\n"
                                         "int f() { return my_free(free_slots) + timeout; }\n__device__ void g() { __syncthreads(); }\n",
                                         {}}}));
  EXPECT_TRUE(found.empty()) << describe(found);
  // The shared CPU implementation of the tests is clean.
  EXPECT_TRUE(forbidden_names().size() > 40);
}

}  // namespace
}  // namespace kforge::search
