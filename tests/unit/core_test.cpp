// Core: tensors, safetensors files, counter-based RNG, JSON line lookup, error rendering.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_locate.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "core/tensor.h"

namespace kforge {
namespace {

namespace fs = std::filesystem;

fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() / ("kforge_core_test_" + std::to_string(::getpid()) + "_" + name);
}

TEST(CoreError, RendersOneLineWithLocation) {
  Error e("unknown dtype 'x'", "one of a, b");
  e.in_field("dtype").in_field("inputs.q").at_file("d.json").at_line(12);
  EXPECT_STREQ(e.what(), "d.json:12: inputs.q.dtype: unknown dtype 'x' (expected one of a, b)");
  Error multi("bad\nvalue");
  EXPECT_STREQ(multi.what(), "bad value");
  Error idx("x");
  idx.in_field("[2]").in_field("sources");
  EXPECT_EQ(idx.field(), "sources[2]");
}

TEST(CoreDType, NamesRoundTripAndUnknownNamesList) {
  for (auto d : {DType::kFloat32, DType::kBFloat16, DType::kFloat8E4M3FN, DType::kInt64, DType::kBool}) {
    EXPECT_EQ(parse_dtype(dtype_name(d)), d);
    EXPECT_EQ(dtype_from_safetensors_code(dtype_safetensors_code(d)), d);
  }
  EXPECT_EQ(dtype_size(DType::kFloat8E5M2), 1u);
  EXPECT_EQ(dtype_size(DType::kInt64), 8u);
  try {
    parse_dtype("fp8");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("float8_e4m3fn"), std::string::npos);
  }
}

TEST(CoreTensor, GetSetRoundAsTheDtypeDoes) {
  Tensor t(DType::kBFloat16, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 12u);
  t.set(4, 1.00390625);  // tie between two bf16 values: rounds to even (1.0)
  EXPECT_EQ(t.get(4), 1.0);
  Tensor f8(DType::kFloat8E4M3FN, {1});
  f8.set(0, 500.0);  // past e4m3fn's range: NaN, as torch 2.12's cast
  EXPECT_TRUE(std::isnan(f8.get(0)));
  Tensor i(DType::kInt32, {});
  i.set(0, -7);
  EXPECT_TRUE(i.is_scalar());
  EXPECT_EQ(i.get(0), -7);
  EXPECT_THROW(t.data<float>(), Error);
  EXPECT_THROW(Tensor(DType::kFloat32, {2, -1}), Error);
}

TEST(CoreSafetensors, RoundTripKeepsDtypesShapesBytesAndMetadata) {
  CounterRng rng(7);
  Tensor a(DType::kBFloat16, {3, 5});
  Tensor b(DType::kInt64, {4});
  Tensor c(DType::kFloat8E4M3FN, {2, 2, 2});
  Tensor s = Tensor::scalar(2.5f);
  for (Tensor* t : {&a, &b, &c}) {
    for (std::int64_t k = 0; k < t->numel(); ++k) t->set(k, rng.normal(static_cast<std::uint64_t>(k)) * 10);
  }
  const fs::path file = temp_file("rt.safetensors");
  write_safetensors(file, {{"a", &a}, {"b", &b}, {"c", &c}, {"s", &s}}, {{"seed", "7"}});
  auto back = read_safetensors(file);
  ASSERT_EQ(back.size(), 4u);
  EXPECT_TRUE(back.at("a").equals(a));
  EXPECT_TRUE(back.at("b").equals(b));
  EXPECT_TRUE(back.at("c").equals(c));
  EXPECT_TRUE(back.at("s").equals(s));
  EXPECT_EQ(read_safetensors_metadata(file).at("seed"), "7");
  // The data section starts 8-byte aligned, as the format recommends.
  std::ifstream in(file, std::ios::binary);
  std::uint64_t len = 0;
  in.read(reinterpret_cast<char*>(&len), 8);
  EXPECT_EQ(len % 8, 0u);
  fs::remove(file);
}

TEST(CoreSafetensors, CorruptFilesGiveErrorsNamingTheFile) {
  const fs::path file = temp_file("bad.safetensors");
  std::ofstream(file, std::ios::binary) << "abc";
  try {
    read_safetensors(file);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), file.string());
  }
  Tensor a(DType::kFloat32, {4});
  write_safetensors(file, {{"a", &a}});
  fs::resize_file(file, fs::file_size(file) - 4);  // truncate the data
  EXPECT_THROW(read_safetensors_tensor(file, "a"), Error);
  fs::remove(file);
}

TEST(CoreAtomicFile, AbandonedWriteLeavesTheOldFile) {
  const fs::path file = temp_file("atomic.txt");
  write_file_atomic(file, "old");
  {
    AtomicFile f(file);
    f.stream() << "half-written";
    // no commit: as if the process died mid-write
  }
  std::ifstream in(file);
  std::string s;
  in >> s;
  EXPECT_EQ(s, "old");
  for (const auto& e : fs::directory_iterator(file.parent_path())) {
    EXPECT_EQ(e.path().string().find(file.string() + ".tmp"), std::string::npos) << "temporary left behind";
  }
  fs::remove(file);
}

TEST(CoreRng, CounterBasedAndWellSpread) {
  CounterRng r(42);
  EXPECT_EQ(r.bits(1000), CounterRng(42).bits(1000));  // value i needs no history
  EXPECT_NE(r.bits(0), CounterRng(43).bits(0));
  EXPECT_NE(r.derive("q").bits(0), r.derive("k").bits(0));
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal(static_cast<std::uint64_t>(i));
    sum += z;
    sum2 += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum2 / n, 1.0, 0.02);
  int counts[4] = {};
  for (int i = 0; i < 40000; ++i) ++counts[r.integer(static_cast<std::uint64_t>(i), -2, 2) + 2];
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
  EXPECT_EQ(stable_hash("abc"), 0xe71fa2190541574bull);  // FNV-1a test vector
}

TEST(CoreJsonLocate, FindsFieldLines) {
  const std::string text = "{\n  \"a\": 1,\n  \"inputs\": {\n    \"q\": {\n      \"dtype\": \"x\"\n    }\n  },\n  \"s\": [\n    {\"p\": 1},\n    {\"p\": 2}\n  ]\n}\n";
  EXPECT_EQ(json_line_of(text, "a"), 2);
  EXPECT_EQ(json_line_of(text, "inputs.q.dtype"), 5);
  EXPECT_EQ(json_line_of(text, "s[1].p"), 10);
  EXPECT_EQ(json_line_of(text, "inputs.missing"), 3);  // falls back to the deepest ancestor
  EXPECT_EQ(line_of_offset(text, 0), 1);
}

}  // namespace
}  // namespace kforge
