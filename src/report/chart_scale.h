// @brief Chart axes: a data interval mapped onto pixels, linear or logarithmic, with readable
// tick values.
#pragma once

#include <string>
#include <vector>

namespace kforge::report {

class Scale {
 public:
  // Maps [lo, hi] (lo < hi; both > 0 when log) onto [px_lo, px_hi] (which may be decreasing,
  // as a y axis is).
  Scale(double lo, double hi, double px_lo, double px_hi, bool log);

  double operator()(double v) const;
  double lo() const { return m_lo; }
  double hi() const { return m_hi; }
  bool log() const { return m_log; }
  // Values inside [lo, hi] worth a tick and a grid line: multiples of 1, 2 or 5 times a power of
  // ten (about 4 to 10 of them on a linear axis; 1, 2, 5 per decade on a log one, fewer when the
  // axis spans many decades).
  std::vector<double> ticks() const;

 private:
  double m_lo, m_hi, m_px_lo, m_px_hi;
  bool m_log;
};

// The latency axis for these values (at least one, all > 0): logarithmic when the largest is
// more than kLogRatio times the smallest, padded so no point sits on the frame; a linear axis
// starts and ends on a tick and never goes below zero.
inline constexpr double kLogRatio = 10;
Scale latency_scale(const std::vector<double>& values, double px_bottom, double px_top);

// A tick or axis value with at most 3 significant digits and no trailing zeros: "0.125",
// "12.5", "40", "1250".
std::string format_number(double v);

}  // namespace kforge::report
