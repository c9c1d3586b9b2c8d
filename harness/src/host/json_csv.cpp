#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <stdexcept>

#include "kvbench/host.hpp"

namespace kvbench {

std::string format_double(double d) {
  if (!std::isfinite(d)) return "null";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, r.ptr);
  // Keep it a JSON number that reads back as a double, e.g. "1e+20" and "3" are fine as is.
  return s;
}

std::string json_escape(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        o += "\\\"";
        break;
      case '\\':
        o += "\\\\";
        break;
      case '\b':
        o += "\\b";
        break;
      case '\f':
        o += "\\f";
        break;
      case '\n':
        o += "\\n";
        break;
      case '\r':
        o += "\\r";
        break;
      case '\t':
        o += "\\t";
        break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  o += '"';
  return o;
}

Json Json::from(const AxisValue& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return Json(static_cast<long long>(*i));
  if (const auto* d = std::get_if<double>(&v)) return Json(*d);
  return Json(std::get<std::string>(v));
}

Json Json::numbers(const std::vector<double>& v) {
  Array a;
  a.reserve(v.size());
  for (double x : v) a.emplace_back(x);
  return Json(std::move(a));
}

Json& Json::set(const std::string& key, Json value) {
  auto* o = std::get_if<Object>(&v_);
  if (!o) throw std::logic_error("Json::set on a non-object");
  for (auto& kv : *o) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return kv.second;
    }
  }
  o->emplace_back(key, std::move(value));
  return o->back().second;
}

const Json* Json::find(const std::string& key) const {
  const auto* o = std::get_if<Object>(&v_);
  if (!o) return nullptr;
  for (const auto& kv : *o) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

Json& Json::push(Json value) {
  auto* a = std::get_if<Array>(&v_);
  if (!a) throw std::logic_error("Json::push on a non-array");
  a->push_back(std::move(value));
  return a->back();
}

void Json::write(std::ostream& os, int indent) const {
  write_impl(os, indent, 0);
}

std::string Json::dump(int indent) const {
  std::ostringstream os;
  write(os, indent);
  return os.str();
}

void Json::write_impl(std::ostream& os, int indent, int depth) const {
  auto nl = [&](int d) {
    if (indent >= 0) {
      os << '\n';
      for (int i = 0; i < d * indent; ++i) os << ' ';
    }
  };
  if (std::holds_alternative<std::monostate>(v_)) {
    os << "null";
  } else if (const auto* b = std::get_if<bool>(&v_)) {
    os << (*b ? "true" : "false");
  } else if (const auto* i = std::get_if<std::int64_t>(&v_)) {
    os << *i;
  } else if (const auto* d = std::get_if<double>(&v_)) {
    os << format_double(*d);
  } else if (const auto* s = std::get_if<std::string>(&v_)) {
    os << json_escape(*s);
  } else if (const auto* a = std::get_if<Array>(&v_)) {
    // Arrays of scalars stay on one line.
    bool scalars = true;
    for (const auto& e : *a) scalars = scalars && !e.is_array() && !e.is_object();
    os << '[';
    for (std::size_t k = 0; k < a->size(); ++k) {
      if (k) os << (scalars || indent < 0 ? "," : ",");
      if (!scalars) nl(depth + 1);
      (*a)[k].write_impl(os, indent, depth + 1);
    }
    if (!scalars && !a->empty()) nl(depth);
    os << ']';
  } else {
    const auto& o = std::get<Object>(v_);
    os << '{';
    for (std::size_t k = 0; k < o.size(); ++k) {
      if (k) os << ',';
      nl(depth + 1);
      os << json_escape(o[k].first) << (indent >= 0 ? ": " : ":");
      o[k].second.write_impl(os, indent, depth + 1);
    }
    if (!o.empty()) nl(depth);
    os << '}';
  }
}

std::string csv_escape(const std::string& f) {
  if (f.find_first_of(",\"\n\r") == std::string::npos) return f;
  std::string o = "\"";
  for (char c : f) {
    if (c == '"') o += '"';
    o += c;
  }
  o += '"';
  return o;
}

namespace {
std::string scalar_text(const Json* j) {
  if (!j || j->is_null()) return "";
  if (j->is_array() || j->is_object()) return j->dump();
  std::string s = j->dump();
  if (s.size() >= 2 && s.front() == '"') s = s.substr(1, s.size() - 2);  // plain text in CSV
  return s;
}
}  // namespace

void write_csv(std::ostream& os, const std::vector<Json>& records) {
  static const char* cols[] = {"family",
                               "name",
                               "l2_state",
                               "bytes_read_B",
                               "bytes_written_B",
                               "flop_count",
                               "median_s",
                               "mean_s",
                               "stdev_s",
                               "q1_s",
                               "q3_s",
                               "min_s",
                               "rel_stdev",
                               "sample_count",
                               "discarded_throttled_count",
                               "sm_clock_mean_kHz",
                               "achieved_Bps",
                               "achieved_flops",
                               "verified",
                               "max_rel_error"};
  for (const char* c : cols) os << c << ',';
  os << "axes\n";
  for (const auto& r : records) {
    if (!r.is_object()) throw std::invalid_argument("write_csv: a record is not a JSON object");
    for (const char* c : cols) os << csv_escape(scalar_text(r.find(c))) << ',';
    std::string axes;
    if (const Json* a = r.find("axes"); a && a->is_object()) {
      for (const auto& kv : a->as_object()) {
        if (!axes.empty()) axes += ';';
        axes += kv.first + "=" + scalar_text(&kv.second);
      }
    }
    os << csv_escape(axes) << '\n';
  }
}

std::string utc_now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string join_args(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i) s += ' ';
    if (a.empty() || a.find_first_of(" \t\"'\\$") != std::string::npos) {
      std::string q = "'";
      for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
      s += q + "'";
    } else {
      s += a;
    }
  }
  return s;
}

}  // namespace kvbench
