// @brief Write-then-rename output file: readers see the old file or the whole new one.
#pragma once

#include <filesystem>
#include <fstream>

namespace kforge {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temporary if commit() was not reached

  std::ofstream& stream() { return m_out; }
  // Flushes, checks for write errors and renames over the target; throws Error on failure.
  void commit();

 private:
  std::filesystem::path m_target;
  std::filesystem::path m_tmp;
  std::ofstream m_out;
  bool m_committed = false;
};

// Convenience: atomically replaces `target` with `content`.
void write_file_atomic(const std::filesystem::path& target, const std::string& content);

}  // namespace kforge
