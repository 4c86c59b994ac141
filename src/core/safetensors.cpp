#include "core/safetensors.h"

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

namespace kforge {
namespace {

using nlohmann::json;

struct Header {
  json j;
  std::uint64_t data_start = 0;
  std::uint64_t file_size = 0;
};

Header load_header(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot open safetensors file", "an existing readable file").at_file(file.string());
  Header h;
  h.file_size = std::filesystem::file_size(file);
  unsigned char len_bytes[8];
  if (!in.read(reinterpret_cast<char*>(len_bytes), 8)) {
    throw Error("file shorter than the 8-byte header length", "a safetensors file").at_file(file.string());
  }
  std::uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | len_bytes[i];
  if (len > h.file_size - 8 || len > (100u << 20)) {
    throw Error("header length " + std::to_string(len) + " exceeds the file",
                "a safetensors file").at_file(file.string());
  }
  std::string text(len, '\0');
  in.read(text.data(), static_cast<std::streamsize>(len));
  try {
    h.j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(std::string("malformed header JSON: ") + e.what(), "a safetensors file")
        .at_file(file.string());
  }
  if (!h.j.is_object()) throw Error("header is not a JSON object").at_file(file.string());
  h.data_start = 8 + len;
  return h;
}

SafetensorsEntry parse_entry(const json& e, std::uint64_t data_bytes, std::uint64_t* begin,
                             std::uint64_t* end) {
  if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets")) {
    throw Error("entry lacks dtype, shape or data_offsets");
  }
  const auto code = e["dtype"].get<std::string>();
  auto dtype = dtype_from_safetensors_code(code);
  if (!dtype) throw Error("unsupported safetensors dtype '" + code + "'");
  SafetensorsEntry out{*dtype, e["shape"].get<Shape>()};
  *begin = e["data_offsets"].at(0).get<std::uint64_t>();
  *end = e["data_offsets"].at(1).get<std::uint64_t>();
  const auto want = static_cast<std::uint64_t>(shape_numel(out.shape)) * dtype_size(out.dtype);
  if (*end < *begin || *end > data_bytes || *end - *begin != want) {
    throw Error("data_offsets [" + std::to_string(*begin) + ", " + std::to_string(*end) +
                ") do not match shape " + shape_to_string(out.shape) + " and dtype " + code);
  }
  return out;
}

std::string key_list(const json& j) {
  std::string out;
  for (const auto& [k, v] : j.items()) {
    if (k == "__metadata__") continue;
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace

std::map<std::string, SafetensorsEntry> read_safetensors_header(const std::filesystem::path& file) {
  const Header h = load_header(file);
  std::map<std::string, SafetensorsEntry> out;
  for (const auto& [k, v] : h.j.items()) {
    if (k == "__metadata__") continue;
    std::uint64_t b = 0, e = 0;
    try {
      out.emplace(k, parse_entry(v, h.file_size - h.data_start, &b, &e));
    } catch (Error& err) {
      throw err.in_field(k).at_file(file.string());
    }
  }
  return out;
}

Tensor read_safetensors_tensor(const std::filesystem::path& file, const std::string& key) {
  const Header h = load_header(file);
  if (!h.j.contains(key) || key == "__metadata__") {
    throw Error("tensor key '" + key + "' not in file", "one of: " + key_list(h.j))
        .at_file(file.string());
  }
  std::uint64_t b = 0, e = 0;
  SafetensorsEntry entry;
  try {
    entry = parse_entry(h.j[key], h.file_size - h.data_start, &b, &e);
  } catch (Error& err) {
    throw err.in_field(key).at_file(file.string());
  }
  Tensor t(entry.dtype, entry.shape);
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(h.data_start + b));
  if (!in.read(reinterpret_cast<char*>(t.bytes().data()), static_cast<std::streamsize>(e - b))) {
    throw Error("short read of tensor data").in_field(key).at_file(file.string());
  }
  return t;
}

std::map<std::string, Tensor> read_safetensors(const std::filesystem::path& file) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, entry] : read_safetensors_header(file)) {
    out.emplace(k, read_safetensors_tensor(file, k));
  }
  return out;
}

std::map<std::string, std::string> read_safetensors_metadata(const std::filesystem::path& file) {
  const Header h = load_header(file);
  std::map<std::string, std::string> out;
  if (h.j.contains("__metadata__")) {
    for (const auto& [k, v] : h.j["__metadata__"].items()) out[k] = v.get<std::string>();
  }
  return out;
}

void write_safetensors(const std::filesystem::path& file,
                       const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", dtype_safetensors_code(t->dtype())},
                    {"shape", t->shape()},
                    {"data_offsets", {offset, offset + t->nbytes()}}};
    offset += t->nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  AtomicFile out(file);
  std::uint64_t len = text.size();
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(len >> (8 * i));
  out.stream().write(reinterpret_cast<const char*>(len_bytes), 8);
  out.stream().write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& [name, t] : tensors) {
    out.stream().write(reinterpret_cast<const char*>(t->bytes().data()),
                       static_cast<std::streamsize>(t->nbytes()));
  }
  out.commit();
}

}  // namespace kforge
