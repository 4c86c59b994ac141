#include "core/atomic_file.h"

#include <unistd.h>

#include "core/error.h"

namespace kforge {

AtomicFile::AtomicFile(std::filesystem::path target) : m_target(std::move(target)) {
  if (m_target.has_parent_path()) std::filesystem::create_directories(m_target.parent_path());
  m_tmp = m_target;
  m_tmp += ".tmp." + std::to_string(::getpid());
  m_out.open(m_tmp, std::ios::binary | std::ios::trunc);
  if (!m_out) throw Error("cannot create file", "a writable directory").at_file(m_tmp.string());
}

AtomicFile::~AtomicFile() {
  if (!m_committed) {
    m_out.close();
    std::error_code ec;
    std::filesystem::remove(m_tmp, ec);
  }
}

void AtomicFile::commit() {
  m_out.flush();
  if (!m_out) throw Error("write failed (disk full?)").at_file(m_tmp.string());
  m_out.close();
  std::error_code ec;
  std::filesystem::rename(m_tmp, m_target, ec);
  if (ec) throw Error("cannot rename into place: " + ec.message()).at_file(m_target.string());
  m_committed = true;
}

void write_file_atomic(const std::filesystem::path& target, const std::string& content) {
  AtomicFile f(target);
  f.stream() << content;
  f.commit();
}

}  // namespace kforge
