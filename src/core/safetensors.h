// @brief Reading and writing the safetensors format (8-byte header length, JSON header, data).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace kforge {

struct SafetensorsEntry {
  DType dtype;
  Shape shape;
};

// Header only: names, dtypes and shapes, without reading the data.
std::map<std::string, SafetensorsEntry> read_safetensors_header(const std::filesystem::path& file);

// Reads the named tensor; errors name the file and key (and list the keys present).
Tensor read_safetensors_tensor(const std::filesystem::path& file, const std::string& key);

std::map<std::string, Tensor> read_safetensors(const std::filesystem::path& file);
std::map<std::string, std::string> read_safetensors_metadata(const std::filesystem::path& file);

// Writes to a temporary file beside `file` and renames it into place, so a crash never leaves
// a half-written file under the final name.
void write_safetensors(const std::filesystem::path& file,
                       const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace kforge
