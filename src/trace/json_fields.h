// @brief Typed field access on JSON objects with errors that name the field, plus lossless
// pass-through of keys a model does not know.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kforge {

// Key order matters for lossless round trips, so every model reads and writes ordered JSON.
using Json = nlohmann::ordered_json;

// Keys a parsed object had that its model does not know, and the source key order; emit()
// writes known keys back in that order, so parse -> serialize reproduces the source.
class JsonPassthrough {
 public:
  static JsonPassthrough capture(const Json& obj, std::initializer_list<std::string_view> known);
  // `fields` holds the model's known keys in canonical order (used for freshly built objects).
  Json emit(const Json& fields) const;
  // Whether the source object had this key (for optional lists that default to empty).
  bool has_key(std::string_view key) const;

 private:
  std::vector<std::string> m_order;
  Json m_extra = Json::object();
};

// A JSON array or object of named entries keeping their order: axes, inputs, outputs.
template <class V>
class NamedList {
 public:
  using Entry = std::pair<std::string, V>;
  void add(std::string name, V v) { m_items.emplace_back(std::move(name), std::move(v)); }
  const V* find(std::string_view name) const {
    for (const auto& [n, v] : m_items) {
      if (n == name) return &v;
    }
    return nullptr;
  }
  V* find(std::string_view name) {
    for (auto& [n, v] : m_items) {
      if (n == name) return &v;
    }
    return nullptr;
  }
  std::ptrdiff_t index_of(std::string_view name) const {
    for (std::size_t i = 0; i < m_items.size(); ++i) {
      if (m_items[i].first == name) return static_cast<std::ptrdiff_t>(i);
    }
    return -1;
  }
  std::size_t size() const { return m_items.size(); }
  bool empty() const { return m_items.empty(); }
  auto begin() const { return m_items.begin(); }
  auto end() const { return m_items.end(); }
  auto begin() { return m_items.begin(); }
  auto end() { return m_items.end(); }
  const Entry& operator[](std::size_t i) const { return m_items[i]; }

 private:
  std::vector<Entry> m_items;
};

// Field readers. Each throws Error with field = key and an "expected" text when the field is
// missing or of the wrong JSON type.
void require_object(const Json& j, std::string_view what);
const Json& field(const Json& obj, std::string_view key, std::string_view expected);
std::string string_field(const Json& obj, std::string_view key);
std::optional<std::string> optional_string(const Json& obj, std::string_view key);
std::int64_t int_field(const Json& obj, std::string_view key);
std::vector<std::string> string_list(const Json& obj, std::string_view key, bool required);
// A number, or one of the strings pydantic writes for non-finite floats ("Infinity", "NaN").
double number_field(const Json& obj, std::string_view key);
// The inverse: non-finite doubles become those strings, so the output stays valid JSON.
Json number_to_json(double v);

}  // namespace kforge
