#include "trace/json_fields.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace kforge {

JsonPassthrough JsonPassthrough::capture(const Json& obj, std::initializer_list<std::string_view> known) {
  JsonPassthrough p;
  for (const auto& [k, v] : obj.items()) {
    p.m_order.push_back(k);
    bool is_known = false;
    for (auto kk : known) is_known = is_known || kk == k;
    // A known key that was explicitly null passes through, so null and absent stay distinct.
    if (!is_known || v.is_null()) p.m_extra[k] = v;
  }
  return p;
}

Json JsonPassthrough::emit(const Json& fields) const {
  Json out = Json::object();
  for (const auto& k : m_order) {
    if (fields.contains(k)) {
      out[k] = fields[k];
    } else if (m_extra.contains(k)) {
      out[k] = m_extra[k];
    }
  }
  for (const auto& [k, v] : fields.items()) {
    if (!out.contains(k)) out[k] = v;
  }
  return out;
}

bool JsonPassthrough::has_key(std::string_view key) const {
  for (const auto& k : m_order) {
    if (k == key) return true;
  }
  return false;
}

namespace {
std::string type_name(const Json& j) { return j.type_name(); }
}  // namespace

void require_object(const Json& j, std::string_view what) {
  if (!j.is_object()) {
    throw Error("got JSON " + type_name(j), "a JSON object (" + std::string(what) + ")");
  }
}

const Json& field(const Json& obj, std::string_view key, std::string_view expected) {
  const std::string k(key);
  if (!obj.contains(k)) throw Error("missing field", std::string(expected)).in_field(k);
  return obj[k];
}

std::string string_field(const Json& obj, std::string_view key) {
  const Json& v = field(obj, key, "a string");
  if (!v.is_string()) throw Error("got JSON " + type_name(v), "a string").in_field(std::string(key));
  return v.get<std::string>();
}

std::optional<std::string> optional_string(const Json& obj, std::string_view key) {
  const std::string k(key);
  if (!obj.contains(k) || obj[k].is_null()) return std::nullopt;
  if (!obj[k].is_string()) throw Error("got JSON " + type_name(obj[k]), "a string or null").in_field(k);
  return obj[k].get<std::string>();
}

std::int64_t int_field(const Json& obj, std::string_view key) {
  const Json& v = field(obj, key, "an integer");
  if (!v.is_number_integer()) {
    throw Error("got JSON " + type_name(v) + " " + v.dump(), "an integer").in_field(std::string(key));
  }
  return v.get<std::int64_t>();
}

std::vector<std::string> string_list(const Json& obj, std::string_view key, bool required) {
  const std::string k(key);
  if (!obj.contains(k) || obj[k].is_null()) {
    if (required) throw Error("missing field", "a list of strings").in_field(k);
    return {};
  }
  const Json& v = obj[k];
  if (!v.is_array()) throw Error("got JSON " + type_name(v), "a list of strings").in_field(k);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      throw Error("got JSON " + type_name(v[i]), "a string").in_field("[" + std::to_string(i) + "]").in_field(k);
    }
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

double number_field(const Json& obj, std::string_view key) {
  const Json& v = field(obj, key, "a number");
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (s == "Infinity" || s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity" || s == "-inf") return -std::numeric_limits<double>::infinity();
    if (s == "NaN" || s == "nan") return std::numeric_limits<double>::quiet_NaN();
  }
  throw Error("got " + v.dump(), "a number, \"Infinity\" or \"NaN\"").in_field(std::string(key));
}

Json number_to_json(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

}  // namespace kforge
