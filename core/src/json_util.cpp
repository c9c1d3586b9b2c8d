#include "kvscope/core/json_util.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "kvscope/core/error.hpp"
#include "kvscope/core/output_file.hpp"

namespace kvscope {

namespace bj = boost::json;

// ---- Parsing ---------------------------------------------------------------------------------

namespace {

// Handler for a second, validating pass: rejects duplicate keys (Boost.JSON's value parser keeps
// the last silently). Returning false stops the parser at the offending key.
struct DuplicateKeyHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::vector<std::set<std::string>> keys;
  std::string partial;
  std::string duplicate;

  bool on_document_begin(bj::error_code&) { return true; }
  bool on_document_end(bj::error_code&) { return true; }
  bool on_object_begin(bj::error_code&) {
    keys.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, bj::error_code&) {
    keys.pop_back();
    return true;
  }
  bool on_array_begin(bj::error_code&) { return true; }
  bool on_array_end(std::size_t, bj::error_code&) { return true; }
  bool on_key_part(bj::string_view s, std::size_t, bj::error_code&) {
    partial.append(s.data(), s.size());
    return true;
  }
  bool on_key(bj::string_view s, std::size_t, bj::error_code& ec) {
    partial.append(s.data(), s.size());
    std::string k = std::move(partial);
    partial.clear();
    if (!keys.back().insert(k).second) {
      duplicate = std::move(k);
      ec = bj::error::syntax;
      return false;
    }
    return true;
  }
  bool on_string_part(bj::string_view, std::size_t, bj::error_code&) { return true; }
  bool on_string(bj::string_view, std::size_t, bj::error_code&) { return true; }
  bool on_number_part(bj::string_view, bj::error_code&) { return true; }
  bool on_int64(std::int64_t, bj::string_view, bj::error_code&) { return true; }
  bool on_uint64(std::uint64_t, bj::string_view, bj::error_code&) { return true; }
  bool on_double(double, bj::string_view, bj::error_code&) { return true; }
  bool on_bool(bool, bj::error_code&) { return true; }
  bool on_null(bj::error_code&) { return true; }
  bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
  bool on_comment(bj::string_view, bj::error_code&) { return true; }
};

// Printable excerpt of `text` from `offset`: control and non-ASCII bytes as \xNN.
std::string excerpt(std::string_view text, std::size_t offset, std::size_t max_len = 24) {
  std::string out;
  const std::size_t end = std::min(text.size(), offset + max_len);
  for (std::size_t i = offset; i < end; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c >= 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  if (end < text.size()) out += "...";
  return out;
}

bool looks_binary(std::string_view text) {
  const std::size_t n = std::min<std::size_t>(text.size(), 4096);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t')) return true;
  }
  return false;
}

[[noreturn]] void parse_failure(std::string_view text, std::size_t offset, const std::string& where, const std::string& reason) {
  offset = std::min(offset, text.size());
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  const std::size_t column = offset - line_start + 1;
  std::string msg = fmt::format("{}: invalid JSON at line {}, column {}: {}", where, line, column, reason);
  if (offset < text.size()) {
    msg += fmt::format(" (near '{}')", excerpt(text, offset));
  } else if (text.empty()) {
    msg += " (the file is empty)";
  } else {
    msg += " (at the end of the text)";
  }
  if (looks_binary(text)) msg += "; the content looks binary, not a JSON text file";
  throw InputError(msg);
}

}  // namespace

bj::value parse_json_text(std::string_view text, const std::string& where) {
  bj::parse_options opt;
  opt.max_depth = 64;
  opt.allow_comments = false;
  opt.allow_trailing_commas = false;
  opt.allow_invalid_utf8 = false;
  bj::stream_parser p(bj::storage_ptr(), opt);
  bj::error_code ec;
  const std::size_t n = p.write_some(text.data(), text.size(), ec);
  if (ec) parse_failure(text, n, where, ec.message());
  if (n < text.size()) {
    // write_some stops after one complete value; anything but whitespace after it is an error.
    std::size_t i = n;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) ++i;
    if (i < text.size()) parse_failure(text, i, where, "unexpected text after the JSON value");
  }
  p.finish(ec);
  if (ec) parse_failure(text, text.size(), where, ec.message());
  bj::value v = p.release();

  bj::basic_parser<DuplicateKeyHandler> dup(opt);
  const std::size_t m = dup.write_some(false, text.data(), text.size(), ec);
  if (ec && !dup.handler().duplicate.empty()) {
    // m points just past the key; report the position of the key itself.
    std::size_t at = m;
    const std::string quoted = "\"" + dup.handler().duplicate + "\"";
    if (auto pos = text.rfind(quoted, m); pos != std::string_view::npos) at = pos;
    parse_failure(text, at, where, fmt::format("duplicate key '{}'", dup.handler().duplicate));
  }
  return v;
}

// ---- Files -----------------------------------------------------------------------------------

std::string read_text_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code fec;
  const fs::file_status st = fs::status(path, fec);
  if (fec || !fs::exists(st)) {
    const int err = fec ? fec.value() : ENOENT;
    throw IoError(fmt::format("cannot open '{}': {}", path, std::strerror(err)));
  }
  if (fs::is_directory(st)) throw IoError(fmt::format("cannot read '{}': is a directory, not a file", path));
  if (fs::is_regular_file(st)) {
    const std::uintmax_t size = fs::file_size(path, fec);
    if (!fec && size > kMaxTextFileBytes) {
      throw IoError(fmt::format("cannot read '{}': {} bytes exceeds the 64 MiB limit for input files", path, size));
    }
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw IoError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::string out;
  char buf[65536];
  while (true) {
    const std::size_t got = std::fread(buf, 1, sizeof buf, f);
    if (got > 0) {
      if (out.size() + got > kMaxTextFileBytes) {
        std::fclose(f);
        const std::uintmax_t size = fs::is_regular_file(st) ? fs::file_size(path, fec) : 0;
        throw IoError(fmt::format("cannot read '{}': {} exceeds the 64 MiB limit for input files", path,
                                  size > 0 ? fmt::format("{} bytes", size) : std::string("the content")));
      }
      out.append(buf, got);
    }
    if (got < sizeof buf) {
      if (std::ferror(f)) {
        const int err = errno;
        std::fclose(f);
        throw IoError(fmt::format("cannot read '{}': {}", path, std::strerror(err)));
      }
      break;
    }
  }
  std::fclose(f);
  return out;
}

void write_file_atomically(const std::string& path, std::string_view content) {
  if (path.empty()) throw IoError("cannot write '': empty path");
  write_output(path, content);
}

// ---- Describing and suggesting ------------------------------------------------------------------

boost::json::value json_number(double v) {
  if (!std::isfinite(v)) return nullptr;
  if (v == std::floor(v) && std::abs(v) < 9e15) return static_cast<std::int64_t>(v);
  return v;
}

std::string describe_json(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::null:
      return "null";
    case bj::kind::bool_:
      return v.get_bool() ? "true (boolean)" : "false (boolean)";
    case bj::kind::int64:
      return std::to_string(v.get_int64());
    case bj::kind::uint64:
      return std::to_string(v.get_uint64());
    case bj::kind::double_: {
      const double d = v.get_double();
      if (std::isnan(d)) return "nan";
      if (std::isinf(d)) return d > 0 ? "inf (a number too large for a double)" : "-inf (a number too large for a double)";
      return fmt::format("{}", d);
    }
    case bj::kind::string: {
      std::string s(v.get_string());
      if (s.size() > 40) s = s.substr(0, 40) + "...";
      return bj::serialize(bj::value(s)) + " (string)";
    }
    case bj::kind::array: {
      const std::size_t n = v.get_array().size();
      return n == 0 ? "an empty array" : fmt::format("an array of {} item{}", n, n == 1 ? "" : "s");
    }
    case bj::kind::object:
      return v.get_object().empty() ? "an empty object" : "an object";
  }
  return "?";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  if (!best || best_d == 0 || best_d > std::max<std::size_t>(2, word.size() / 3)) return std::nullopt;
  return best;
}

std::vector<std::string> closest_names(std::string_view word, const std::vector<std::string>& candidates, std::size_t n) {
  std::vector<std::pair<std::size_t, std::size_t>> scored;  // (distance, index)
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    std::size_t d = edit_distance(word, candidates[i]);
    // A candidate that contains the word (or vice versa) is a better guess than its distance says.
    if (!word.empty() && (candidates[i].find(word) != std::string::npos || word.find(candidates[i]) != std::string::npos)) {
      d = std::min<std::size_t>(d, 1);
    }
    scored.emplace_back(d, i);
  }
  std::stable_sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && out.size() < n; ++i) out.push_back(candidates[scored[i].second]);
  return out;
}

// ---- JsonObjectReader -----------------------------------------------------------------------------

JsonObjectReader::JsonObjectReader(const bj::value& v, std::string file, std::string path)
    : obj_(nullptr), file_(std::move(file)), path_(std::move(path)) {
  if (!v.is_object()) {
    throw InputError(file_, path_, "a JSON object", describe_json(v));
  }
  obj_ = &v.get_object();
}

std::string JsonObjectReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::vector<std::string> JsonObjectReader::keys() const {
  std::vector<std::string> out;
  for (const auto& kv : *obj_) out.emplace_back(kv.key());
  return out;
}

void JsonObjectReader::know(std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    if (std::find(known_.begin(), known_.end(), k) == known_.end()) known_.emplace_back(k);
  }
}

const bj::value* JsonObjectReader::find(std::string_view key, bool consume, bool null_is_absent) {
  know({key});
  const bj::value* v = obj_->if_contains(bj::string_view(key.data(), key.size()));
  if (v && consume) consumed_.emplace(key);
  if (v && null_is_absent && v->is_null()) return nullptr;
  return v;
}

bool JsonObjectReader::has(std::string_view key) {
  return find(key, false, true) != nullptr;
}

const bj::value* JsonObjectReader::get(std::string_view key) {
  return find(key, true, false);
}

void JsonObjectReader::fail(std::string_view key, const std::string& expected, const std::string& found) const {
  throw InputError(file_, key_path(key), expected, found);
}

void JsonObjectReader::fail_config(std::string_view key, const std::string& expected, const std::string& found) const {
  throw ConfigError(file_, key_path(key), expected, found);
}

void JsonObjectReader::missing(std::string_view key, const std::string& expected) const {
  // A key that is absent because of a typo: report the typo, which is the actual mistake.
  // (Keys not read yet may be valid ones read later, so take the closest candidate only.)
  std::optional<std::string> typo;
  std::size_t best = std::numeric_limits<std::size_t>::max();
  for (const auto& kv : *obj_) {
    const std::string k(kv.key());
    if (consumed_.count(k) || std::find(known_.begin(), known_.end(), k) != known_.end()) continue;
    if (did_you_mean(k, {std::string(key)}) && edit_distance(k, key) < best) {
      best = edit_distance(k, key);
      typo = k;
    }
  }
  if (typo) {
    throw InputError(fmt::format("{}: unknown key '{}' (did you mean '{}'?)", file_, key_path(*typo), key_path(key)));
  }
  throw InputError(fmt::format("{}: missing key '{}' (expected {})", file_, key_path(key), expected));
}

std::int64_t JsonObjectReader::to_int(const bj::value& v, const std::string& file, const std::string& key, std::int64_t min,
                                      std::int64_t max) {
  const std::string expected = fmt::format("an integer in {}..{}", min, max);
  if (v.is_int64()) {
    const std::int64_t x = v.get_int64();
    if (x < min || x > max) throw InputError(file, key, expected, std::to_string(x));
    return x;
  }
  if (v.is_uint64()) throw InputError(file, key, expected, std::to_string(v.get_uint64()));
  if (v.is_double()) {
    const double d = v.get_double();
    if (!std::isfinite(d) || d != std::floor(d)) throw InputError(file, key, expected, describe_json(v));
    if (d < static_cast<double>(min) || d > static_cast<double>(max)) throw InputError(file, key, expected, describe_json(v));
    return static_cast<std::int64_t>(d);
  }
  throw InputError(file, key, expected, describe_json(v));
}

double JsonObjectReader::to_double(const bj::value& v, const std::string& file, const std::string& key, double min, double max) {
  const std::string expected = fmt::format("a number in {:g}..{:g}", min, max);
  double d = 0;
  if (v.is_int64())
    d = static_cast<double>(v.get_int64());
  else if (v.is_uint64())
    d = static_cast<double>(v.get_uint64());
  else if (v.is_double())
    d = v.get_double();
  else
    throw InputError(file, key, expected, describe_json(v));
  if (!std::isfinite(d) || d < min || d > max) throw InputError(file, key, expected, describe_json(v));
  return d;
}

std::int64_t JsonObjectReader::required_int(std::string_view key, std::int64_t min, std::int64_t max) {
  return guarded(
      [&]() -> std::int64_t {
        const bj::value* v = find(key, true, true);
        if (!v) missing(key, fmt::format("an integer in {}..{}", min, max));
        return to_int(*v, file_, key_path(key), min, max);
      },
      min);
}

std::optional<std::int64_t> JsonObjectReader::optional_int(std::string_view key, std::int64_t min, std::int64_t max) {
  return guarded(
      [&]() -> std::optional<std::int64_t> {
        const bj::value* v = find(key, true, true);
        if (!v) return std::nullopt;
        return to_int(*v, file_, key_path(key), min, max);
      },
      std::optional<std::int64_t>());
}

double JsonObjectReader::required_double(std::string_view key, double min, double max) {
  return guarded(
      [&]() -> double {
        const bj::value* v = find(key, true, true);
        if (!v) missing(key, fmt::format("a number in {:g}..{:g}", min, max));
        return to_double(*v, file_, key_path(key), min, max);
      },
      min);
}

std::optional<double> JsonObjectReader::optional_double(std::string_view key, double min, double max) {
  return guarded(
      [&]() -> std::optional<double> {
        const bj::value* v = find(key, true, true);
        if (!v) return std::nullopt;
        return to_double(*v, file_, key_path(key), min, max);
      },
      std::optional<double>());
}

std::optional<std::string> JsonObjectReader::optional_string(std::string_view key, bool allow_empty, std::size_t max_chars) {
  return guarded(
      [&]() -> std::optional<std::string> {
        const bj::value* v = find(key, true, true);
        if (!v) return std::nullopt;
        const char* expected = allow_empty ? "a string" : "a non-empty string";
        if (!v->is_string()) fail(key, expected, describe_json(*v));
        if (!allow_empty && v->get_string().empty()) fail(key, expected, "\"\"");
        if (v->get_string().size() > max_chars) {
          fail(key, fmt::format("{} of at most {} bytes", expected, max_chars),
               fmt::format("a string of {} bytes", v->get_string().size()));
        }
        return std::string(v->get_string());
      },
      std::optional<std::string>());
}

std::string JsonObjectReader::required_string(std::string_view key, bool allow_empty, std::size_t max_chars) {
  return guarded(
      [&]() -> std::string {
        if (!has(key)) missing(key, allow_empty ? "a string" : "a non-empty string");
        return *optional_string(key, allow_empty, max_chars);
      },
      std::string());
}

std::optional<std::string> JsonObjectReader::optional_enum(std::string_view key, const std::vector<std::string>& choices) {
  return guarded(
      [&]() -> std::optional<std::string> {
        const bj::value* v = find(key, true, true);
        if (!v) return std::nullopt;
        std::string list;
        for (const auto& c : choices) list += (list.empty() ? "" : ", ") + ("'" + c + "'");
        const std::string expected = "one of " + list;
        if (!v->is_string()) fail(key, expected, describe_json(*v));
        const std::string s(v->get_string());
        if (std::find(choices.begin(), choices.end(), s) == choices.end()) {
          std::string found = describe_json(*v);
          if (auto m = did_you_mean(s, choices)) found += fmt::format(" (did you mean '{}'?)", *m);
          fail(key, expected, found);
        }
        return s;
      },
      std::optional<std::string>());
}

std::string JsonObjectReader::required_enum(std::string_view key, const std::vector<std::string>& choices) {
  return guarded(
      [&]() -> std::string {
        if (!has(key)) {
          std::string list;
          for (const auto& c : choices) list += (list.empty() ? "" : ", ") + ("'" + c + "'");
          missing(key, "one of " + list);
        }
        return *optional_enum(key, choices);
      },
      choices.empty() ? std::string() : choices.front());
}

std::optional<bool> JsonObjectReader::optional_bool(std::string_view key) {
  return guarded(
      [&]() -> std::optional<bool> {
        const bj::value* v = find(key, true, true);
        if (!v) return std::nullopt;
        if (!v->is_bool()) fail(key, "true or false", describe_json(*v));
        return v->get_bool();
      },
      std::optional<bool>());
}

bool JsonObjectReader::required_bool(std::string_view key) {
  return guarded(
      [&]() -> bool {
        if (!has(key)) missing(key, "true or false");
        return *optional_bool(key);
      },
      false);
}

std::optional<JsonObjectReader> JsonObjectReader::optional_object(std::string_view key) {
  return guarded(
      [&]() -> std::optional<JsonObjectReader> {
        const bj::value* v = find(key, true, true);
        if (!v) return std::nullopt;
        if (!v->is_object()) fail(key, "an object", describe_json(*v));
        JsonObjectReader sub(*v, file_, key_path(key));
        sub.collected_ = collected_;
        sub.silent_ = silent_;
        return std::optional<JsonObjectReader>(std::move(sub));
      },
      std::optional<JsonObjectReader>());
}

JsonObjectReader JsonObjectReader::required_object(std::string_view key) {
  return guarded(
      [&]() -> JsonObjectReader {
        if (!has(key)) missing(key, "an object");
        return *optional_object(key);
      },
      stand_in(key));
}

const bj::array* JsonObjectReader::optional_array(std::string_view key, std::size_t min_size, std::size_t max_size) {
  return guarded(
      [&]() -> const bj::array* {
        const bj::value* v = find(key, true, true);
        if (!v) return nullptr;
        const std::string expected = min_size == max_size ? fmt::format("an array of {} items", min_size)
                                     : min_size > 0       ? fmt::format("an array of {}..{} items", min_size, max_size)
                                                          : fmt::format("an array of at most {} items", max_size);
        if (!v->is_array()) fail(key, expected, describe_json(*v));
        const std::size_t n = v->get_array().size();
        if (n < min_size || n > max_size) fail(key, expected, describe_json(*v));
        return &v->get_array();
      },
      static_cast<const bj::array*>(nullptr));
}

const bj::array& JsonObjectReader::required_array(std::string_view key, std::size_t min_size, std::size_t max_size) {
  static const bj::array kEmpty;
  return *guarded(
      [&] {
        if (!has(key)) missing(key, "an array");
        return optional_array(key, min_size, max_size);
      },
      &kEmpty);
}

std::vector<std::int64_t> JsonObjectReader::required_int_array(std::string_view key, std::int64_t min, std::int64_t max,
                                                               std::size_t min_size, std::size_t max_size) {
  return guarded(
      [&]() -> std::vector<std::int64_t> {
        const bj::array& a = required_array(key, min_size, max_size);
        std::vector<std::int64_t> out;
        out.reserve(a.size());
        for (std::size_t i = 0; i < a.size(); ++i)
          out.push_back(to_int(a[i], file_, fmt::format("{}[{}]", key_path(key), i), min, max));
        return out;
      },
      std::vector<std::int64_t>());
}

void JsonObjectReader::collect_errors() {
  if (!collected_) collected_ = std::make_shared<std::vector<std::exception_ptr>>();
}

void JsonObjectReader::throw_collected() const {
  if (clean()) return;
  if (collected_->size() == 1) std::rethrow_exception(collected_->front());
  std::vector<std::string> messages;
  std::string field;
  for (const std::exception_ptr& e : *collected_) {
    try {
      std::rethrow_exception(e);
    } catch (const InputError& x) {
      // A typo is found twice (the key it should be is missing, the key it is is unknown).
      if (std::find(messages.begin(), messages.end(), x.what()) == messages.end()) messages.emplace_back(x.what());
      if (field.empty()) field = x.field();
    }
  }
  if (messages.size() == 1) throw InputError(messages.front());
  InputErrors all(std::move(messages));
  all.set_field(field);
  throw all;
}

template <class F, class T>
T JsonObjectReader::guarded(F&& body, T fallback) {
  struct Depth {
    int& d;
    explicit Depth(int& x) : d(x) { ++d; }
    ~Depth() { --d; }
  } depth(depth_);
  if (!collected_ || depth_ > 1) return body();
  try {
    return body();
  } catch (const InputError&) {
    if (!silent_) collected_->push_back(std::current_exception());
    return fallback;
  }
}

// What required_object returns for a missing or malformed object while collecting: an empty
// object whose missing keys are not recorded (the missing object was).
JsonObjectReader JsonObjectReader::stand_in(std::string_view key) const {
  static const bj::value kEmpty = bj::object();
  JsonObjectReader r(kEmpty, file_, key_path(key));
  r.collected_ = collected_;
  r.silent_ = true;
  return r;
}

void JsonObjectReader::finish() const {
  for (const auto& kv : *obj_) {
    const std::string_view k(kv.key().data(), kv.key().size());
    if (consumed_.count(k)) continue;
    std::string msg = fmt::format("{}: unknown key '{}'", file_, key_path(k));
    if (auto m = did_you_mean(k, known_)) {
      msg += fmt::format(" (did you mean '{}'?)", key_path(*m));
    } else {
      std::string list;
      for (const auto& c : known_) list += (list.empty() ? "" : ", ") + c;
      msg += fmt::format(" (known keys{}: {})", path_.empty() ? "" : " in '" + path_ + "'", list);
    }
    if (!collected_) throw InputError(msg);
    if (!silent_) collected_->push_back(std::make_exception_ptr(InputError(msg)));
  }
}

}  // namespace kvscope
