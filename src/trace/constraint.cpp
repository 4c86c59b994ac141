#include "trace/constraint.h"

#include <cctype>
#include <cmath>
#include <variant>
#include <vector>

#include "core/error.h"

namespace kforge {
namespace {

struct NeedsValues {};

struct TensorRef {
  std::string name;
};
using Value = std::variant<double, TensorRef, Shape>;

std::string show(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return std::to_string(v);
}

class Evaluator {
 public:
  Evaluator(const std::string& text, const ConstraintContext& ctx) : m_text(text), m_ctx(ctx) {}

  ConstraintOutcome run() {
    const double v = number(expr());
    skip_ws();
    if (m_pos != m_text.size()) fail("unexpected '" + m_text.substr(m_pos) + "'");
    return {v != 0.0, m_detail};
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error("cannot evaluate constraint '" + m_text + "': " + why,
                "an expression over axes, x.shape[i], x[i] and .item()");
  }

  void skip_ws() {
    while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos]))) ++m_pos;
  }
  bool eat(std::string_view tok) {
    skip_ws();
    if (m_text.compare(m_pos, tok.size(), tok) != 0) return false;
    // Keywords must not be a prefix of an identifier ("notes" is not "not").
    if (std::isalpha(static_cast<unsigned char>(tok.back())) && m_pos + tok.size() < m_text.size() &&
        (std::isalnum(static_cast<unsigned char>(m_text[m_pos + tok.size()])) || m_text[m_pos + tok.size()] == '_')) {
      return false;
    }
    m_pos += tok.size();
    return true;
  }

  double number(const Value& v) {
    if (const double* d = std::get_if<double>(&v)) return *d;
    fail("a tensor or shape where a number is needed");
  }

  Value expr() {
    Value v = and_expr();
    while (eat("or")) {
      const double rhs = number(and_expr());
      v = (number(v) != 0.0 || rhs != 0.0) ? 1.0 : 0.0;
    }
    return v;
  }
  Value and_expr() {
    Value v = not_expr();
    while (eat("and")) {
      const double rhs = number(not_expr());
      v = (number(v) != 0.0 && rhs != 0.0) ? 1.0 : 0.0;
    }
    return v;
  }
  Value not_expr() {
    if (eat("not")) return number(not_expr()) == 0.0 ? 1.0 : 0.0;
    return comparison();
  }
  Value comparison() {
    Value v = arith();
    bool chain_true = true;
    bool compared = false;
    double lhs = 0;
    while (true) {
      std::string op;
      for (std::string_view cand : {"==", "!=", "<=", ">=", "<", ">"}) {
        if (eat(cand)) {
          op = cand;
          break;
        }
      }
      if (op.empty()) break;
      lhs = compared ? lhs : number(v);
      const double rhs = number(arith());
      bool ok = op == "==" ? lhs == rhs : op == "!=" ? lhs != rhs : op == "<=" ? lhs <= rhs
              : op == ">=" ? lhs >= rhs : op == "<" ? lhs < rhs : lhs > rhs;
      if (!ok && chain_true) m_detail = show(lhs) + " " + op + " " + show(rhs);
      chain_true = chain_true && ok;
      compared = true;
      lhs = rhs;
    }
    return compared ? Value(chain_true ? 1.0 : 0.0) : v;
  }
  Value arith() {
    Value v = term();
    while (true) {
      if (eat("+")) {
        v = number(v) + number(term());
      } else if (eat("-")) {
        v = number(v) - number(term());
      } else {
        return v;
      }
    }
  }
  Value term() {
    Value v = unary();
    while (true) {
      skip_ws();
      if (m_text.compare(m_pos, 2, "**") == 0) return v;
      if (eat("//")) {
        const double d = number(unary());
        if (d == 0) fail("division by zero");
        v = std::floor(number(v) / d);
      } else if (eat("*")) {
        v = number(v) * number(unary());
      } else if (eat("/")) {
        const double d = number(unary());
        if (d == 0) fail("division by zero");
        v = number(v) / d;
      } else if (eat("%")) {
        const double d = number(unary());
        if (d == 0) fail("modulo by zero");
        const double a = number(v);
        v = a - std::floor(a / d) * d;  // Python's sign rule
      } else {
        return v;
      }
    }
  }
  Value unary() {
    if (eat("-")) return -number(unary());
    if (eat("+")) return number(unary());
    Value base = postfix();
    if (eat("**")) return std::pow(number(base), number(unary()));
    return base;
  }
  Value postfix() {
    Value v = primary();
    while (true) {
      if (eat(".shape")) {
        const auto* t = std::get_if<TensorRef>(&v);
        if (!t) fail(".shape on a non-tensor");
        v = *m_ctx.shape_of(t->name);
      } else if (eat(".item()")) {
        // Indexing already produced the number; item() only unwraps it.
        if (!std::holds_alternative<double>(v)) fail(".item() on a non-scalar");
      } else if (eat("[")) {
        const auto idx = static_cast<std::int64_t>(number(expr()));
        if (!eat("]")) fail("missing ']'");
        v = index(v, idx);
      } else {
        return v;
      }
    }
  }
  Value index(const Value& v, std::int64_t idx) {
    if (const auto* s = std::get_if<Shape>(&v)) {
      const auto n = static_cast<std::int64_t>(s->size());
      const std::int64_t i = idx < 0 ? idx + n : idx;
      if (i < 0 || i >= n) fail("shape index " + std::to_string(idx) + " out of range");
      return static_cast<double>((*s)[static_cast<std::size_t>(i)]);
    }
    if (const auto* t = std::get_if<TensorRef>(&v)) {
      const Tensor* tensor = m_ctx.tensor_of ? m_ctx.tensor_of(t->name) : nullptr;
      if (!tensor) throw NeedsValues{};
      if (tensor->rank() != 1) fail("indexing a tensor of rank " + std::to_string(tensor->rank()));
      const std::int64_t n = tensor->numel();
      const std::int64_t i = idx < 0 ? idx + n : idx;
      if (i < 0 || i >= n) fail("index " + std::to_string(idx) + " out of range for '" + t->name + "'");
      return tensor->get(i);
    }
    fail("indexing a number");
  }
  Value primary() {
    skip_ws();
    if (eat("(")) {
      Value v = expr();
      if (!eat(")")) fail("missing ')'");
      return v;
    }
    if (m_pos < m_text.size() && (std::isdigit(static_cast<unsigned char>(m_text[m_pos])) || m_text[m_pos] == '.')) {
      std::size_t used = 0;
      const double v = std::stod(m_text.substr(m_pos), &used);
      m_pos += used;
      return v;
    }
    std::size_t end = m_pos;
    while (end < m_text.size() && (std::isalnum(static_cast<unsigned char>(m_text[end])) || m_text[end] == '_')) ++end;
    if (end == m_pos) fail("unexpected character at '" + m_text.substr(m_pos) + "'");
    const std::string name = m_text.substr(m_pos, end - m_pos);
    m_pos = end;
    if (auto it = m_ctx.axes->find(name); it != m_ctx.axes->end()) return static_cast<double>(it->second);
    if (m_ctx.shape_of && m_ctx.shape_of(name)) return TensorRef{name};
    fail("unknown name '" + name + "'");
  }

  std::string m_text;
  const ConstraintContext& m_ctx;
  std::size_t m_pos = 0;
  std::string m_detail;
};

}  // namespace

std::optional<ConstraintOutcome> check_constraint(const std::string& expr, const ConstraintContext& ctx) {
  try {
    return Evaluator(expr, ctx).run();
  } catch (const NeedsValues&) {
    return std::nullopt;
  }
}

}  // namespace kforge
