#include "kvscope/explorer/constraints.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "kvscope/core/enum_names.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/json_util.hpp"

namespace kvscope {

namespace {

constexpr const char* kConstraintForm = "FIELD OP NUMBER with OP one of <= < >= > == != (e.g. max_context >= 32768)";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void check_known(std::string_view name, std::string_view where, std::string_view context,
                 std::span<const std::string_view> known) {
  if (std::find(known.begin(), known.end(), name) != known.end()) return;
  const auto close = closest_names(name, known);
  std::string list;
  for (std::string_view c : close) list += (list.empty() ? "" : ", ") + std::string(c);
  throw InputError(std::string(where), std::string(context),
                   fmt::format("a known output field (closest: {}; `kvscope fields` lists all)", list),
                   fmt::format("'{}'", name));
}

}  // namespace

const char* to_string(CmpOp op) {
  return enum_name<CmpOp::ne>(op, {"<=", "<", ">=", ">", "==", "!="});
}

std::vector<std::string_view> closest_names(std::string_view name, std::span<const std::string_view> known, std::size_t n) {
  std::vector<std::pair<std::size_t, std::string_view>> d;
  d.reserve(known.size());
  for (std::string_view k : known) d.emplace_back(edit_distance(name, k), k);
  std::stable_sort(d.begin(), d.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < d.size() && i < n; ++i) out.push_back(d[i].second);
  return out;
}

Constraint parse_constraint(std::string_view text, std::string_view where, std::span<const std::string_view> known) {
  const std::string found = fmt::format("'{}'", text);
  const std::size_t at = text.find_first_of("<>=!");
  if (at == std::string_view::npos) throw InputError(std::string(where), "", kConstraintForm, found);
  Constraint c;
  c.text = std::string(trim(text));
  const std::string_view name = trim(text.substr(0, at));
  std::string_view rest = text.substr(at);
  struct OpText {
    std::string_view text;
    CmpOp op;
  };
  // Two-character operators first so "<=" is not read as "<" followed by "=".
  static constexpr OpText kOps[] = {{"<=", CmpOp::le}, {">=", CmpOp::ge}, {"==", CmpOp::eq},
                                    {"!=", CmpOp::ne}, {"<", CmpOp::lt},  {">", CmpOp::gt}};
  bool matched = false;
  for (const OpText& o : kOps) {
    if (rest.substr(0, o.text.size()) == o.text) {
      c.op = o.op;
      rest.remove_prefix(o.text.size());
      matched = true;
      break;
    }
  }
  if (!matched || !is_name(name)) throw InputError(std::string(where), "", kConstraintForm, found);
  std::string_view num = trim(rest);
  if (!num.empty() && num.front() == '+') num.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (num.empty() || ec != std::errc() || ptr != num.data() + num.size() || !std::isfinite(v)) {
    throw InputError(std::string(where), std::string(name), "a finite number after the operator (e.g. 32768, 1e4)",
                     fmt::format("'{}' in {}", trim(rest), found));
  }
  check_known(name, where, "", known);
  c.field = std::string(name);
  c.value = v;
  return c;
}

std::vector<Constraint> parse_constraints(std::span<const std::string> texts, std::string_view where,
                                          std::span<const std::string_view> known) {
  std::vector<Constraint> out;
  out.reserve(texts.size());
  for (const std::string& t : texts) out.push_back(parse_constraint(t, where, known));
  return out;
}

std::vector<Objective> parse_objectives(std::string_view text, std::string_view where, std::span<const std::string_view> known) {
  std::vector<Objective> out;
  std::size_t start = 0, item = 0;
  while (true) {
    const std::size_t end = text.find(',', start);
    const std::string_view part = trim(text.substr(start, end == std::string_view::npos ? end : end - start));
    ++item;
    const std::string key = fmt::format("objective {}", item);
    const std::size_t colon = part.find(':');
    const std::string_view name = trim(part.substr(0, colon));
    const std::string_view sense = colon == std::string_view::npos ? std::string_view() : trim(part.substr(colon + 1));
    if (!is_name(name) || colon == std::string_view::npos) {
      throw InputError(std::string(where), key,
                       "FIELD:min or FIELD:max, comma separated (e.g. kv_bytes_per_token:min,val_ppl:min)",
                       fmt::format("'{}'", part));
    }
    Objective o;
    if (sense == "min" || sense == "minimize")
      o.sense = Sense::minimize;
    else if (sense == "max" || sense == "maximize")
      o.sense = Sense::maximize;
    else
      throw InputError(std::string(where), key, "min or max after the ':'", fmt::format("'{}'", part));
    check_known(name, where, key, known);
    for (const Objective& prev : out) {
      if (prev.field == name) throw InputError(std::string(where), key, "each field once", fmt::format("'{}' again", name));
    }
    o.field = std::string(name);
    out.push_back(std::move(o));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace kvscope
