#include "report/chart_scale.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace kforge::report {
namespace {

// The 1-2-5 step that gives at most `max_ticks` ticks over `span`.
double nice_step(double span, int max_ticks) {
  const double raw = span / max_ticks;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

}  // namespace

Scale::Scale(double lo, double hi, double px_lo, double px_hi, bool log)
    : m_lo(lo), m_hi(hi), m_px_lo(px_lo), m_px_hi(px_hi), m_log(log) {}

double Scale::operator()(double v) const {
  const double t = m_log ? (std::log(v) - std::log(m_lo)) / (std::log(m_hi) - std::log(m_lo)) : (v - m_lo) / (m_hi - m_lo);
  return m_px_lo + t * (m_px_hi - m_px_lo);
}

std::vector<double> Scale::ticks() const {
  std::vector<double> out;
  if (!m_log) {
    const double step = nice_step(m_hi - m_lo, 8);
    // Multiples of the step, computed from an integer index so no rounding drift accumulates.
    for (double k = std::ceil(m_lo / step - 1e-9); k * step <= m_hi + 1e-9 * step; k += 1) {
      out.push_back(k == 0 ? 0.0 : k * step);  // never "-0"
    }
    return out;
  }
  const int first = static_cast<int>(std::floor(std::log10(m_lo)));
  const int last = static_cast<int>(std::ceil(std::log10(m_hi)));
  const std::vector<double> mantissas = last - first > 4 ? std::vector<double>{1} : std::vector<double>{1, 2, 5};
  for (int e = first; e <= last; ++e) {
    for (const double m : mantissas) {
      const double v = m * std::pow(10.0, e);
      if (v >= m_lo * (1 - 1e-12) && v <= m_hi * (1 + 1e-12)) out.push_back(v);
    }
  }
  // A narrow log axis inside one decade may hold a single 1-2-5 value: add its neighbours.
  if (out.size() < 2) {
    out.clear();
    for (int e = first; e <= last; ++e) {
      for (int m = 1; m <= 9; ++m) {
        const double v = m * std::pow(10.0, e);
        if (v >= m_lo && v <= m_hi) out.push_back(v);
      }
    }
  }
  return out;
}

Scale latency_scale(const std::vector<double>& values, double px_bottom, double px_top) {
  const auto [min_it, max_it] = std::minmax_element(values.begin(), values.end());
  const double lo = *min_it, hi = *max_it;
  if (hi > kLogRatio * lo) return Scale(lo / 1.25, hi * 1.25, px_bottom, px_top, true);
  const double pad = hi > lo ? 0.08 * (hi - lo) : std::max(0.1 * hi, 1e-3);
  const double a = std::max(0.0, lo - pad), b = hi + pad;
  const double step = nice_step(b - a, 8);
  return Scale(std::floor(a / step) * step, std::ceil(b / step) * step, px_bottom, px_top, false);
}

std::string format_number(double v) {
  const double a = std::fabs(v);
  std::string s;
  if (a >= 100 || a == 0) {
    s = fmt::format("{:.0f}", v);
  } else if (a >= 1) {
    s = a >= 10 ? fmt::format("{:.1f}", v) : fmt::format("{:.2f}", v);
  } else {
    // Three significant digits below 1: 0.125, 0.0125.
    const int decimals = 2 - static_cast<int>(std::floor(std::log10(a)));
    s = fmt::format("{:.{}f}", v, decimals);
  }
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

}  // namespace kforge::report
