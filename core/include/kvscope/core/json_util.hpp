#pragma once
// Strict JSON helpers shared by every kvscope loader (model presets, GPU profiles, scenarios,
// kvbench results) and by the writers of result files.
//
// Error messages name the file, the key as a JSON path ("moe.n_active", "kv_producers[3]"),
// what was expected and what was found, in the shape of InputError:
//   llama.json: 'n_kv_heads': expected an integer in 1..65536, found -3
//   llama.json: 'n_kv_heads': expected an integer in 1..65536, found "8" (string)
//   llama.json: unknown key 'n_kv_head' (did you mean 'n_kv_heads'?)
//   llama.json: missing key 'd_model' (expected an integer in 1..1000000)
//   llama.json: invalid JSON at line 3, column 17: syntax error (near 'x,\n  "vocab"...')
// The libraries only throw (InputError, ConfigError, IoError); they never exit.
#include <boost/json.hpp>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kvscope/core/display.hpp"

namespace kvscope {

// ---- Text and files -----------------------------------------------------------------------

// Largest file read_text_file accepts (64 MiB): profiles and result files are far smaller, and
// the limit keeps a mistaken path (a core dump, a checkpoint) from exhausting memory.
inline constexpr std::uintmax_t kMaxTextFileBytes = 64ull * 1024 * 1024;

// Parse one JSON document strictly: no comments, no trailing commas, no text after the value,
// no duplicate keys in an object, valid UTF-8, nesting depth <= 64. Non-finite numbers cannot be
// written in JSON; a literal too large for a double (1e999) is rejected by the readers below.
// On failure throws InputError "<where>: invalid JSON at line L, column C: <reason> (near '...')"
// (line and column are 1-based; columns count bytes).
boost::json::value parse_json_text(std::string_view text, const std::string& where);

// Read a whole file as bytes. IoError "cannot open 'x.json': No such file or directory",
// "cannot read 'dir': is a directory", "cannot read 'big.bin': 70000000 bytes exceeds the
// 64 MiB limit". Binary content is returned as is (parsing it then fails with a clear message).
std::string read_text_file(const std::string& path);

// Write `content` to the file `path` through OutputFile (output_file.hpp): a regular file is
// replaced atomically (exclusive temporary beside it, fsync, its mode kept, rename), a symlink's
// target is replaced, a FIFO or device is written in place. Readers see the old or the new
// file, never a torn one. IoError naming the path and the OS reason on any failure.
void write_file_atomically(const std::string& path, std::string_view content);

// ---- Describing values and suggesting names -------------------------------------------------

// How a value is shown after "found": -3, 7.5, "8" (string), true, null, an array of 3 items,
// an object, 1.8e+308 / inf for out-of-range literals.
std::string describe_json(const boost::json::value& v);
// A double as JSON: null when not finite, an integer when it is one (|v| < 9e15), else the double
// (serialized as the shortest text that reads back the same).
boost::json::value json_number(double v);
// Levenshtein distance (byte-wise).
std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `word` when it is close enough to be a plausible typo
// (distance <= max(2, |word| / 3)), else nullopt. Ties go to the first in `candidates`.
std::optional<std::string> did_you_mean(std::string_view word, const std::vector<std::string>& candidates);
// The `n` closest candidates, closest first (for "unknown preset 'x' (closest: a, b, c)").
std::vector<std::string> closest_names(std::string_view word, const std::vector<std::string>& candidates, std::size_t n);

// ---- Strict object reader ------------------------------------------------------------------

// Reads the members of one JSON object, checking each value's type and range, and remembers
// which keys were read. `finish()` then rejects any key that was not read, suggesting the
// closest key that was asked for ("did you mean ...?"). Keys are addressed by JSON path:
// a reader for the object under "moe" reports "moe.n_active".
//
//   JsonObjectReader r(value, "llama.json");            // throws unless value is an object
//   const int n = static_cast<int>(r.required_int("n_layers", 1, 10000));
//   const bool tied = r.optional_bool("tied_embeddings").value_or(false);
//   if (auto moe = r.optional_object("moe")) { ...; moe->finish(); }
//   r.finish();
//
// Optional keys treat an explicit `null` as absent. Integers accept JSON integers and numbers
// that are exactly integral (4096.0, 1e3); 7.5, "8", true, NaN/inf are rejected. Doubles must be
// finite and within [min, max]. Strings must be non-empty unless allow_empty.
class JsonObjectReader {
 public:
  // `file` names the document (path or embedded name); `path` is this object's JSON path ("" =
  // the root). Throws InputError unless `v` is an object.
  JsonObjectReader(const boost::json::value& v, std::string file, std::string path = "");

  const std::string& file() const { return file_; }
  // "n_layers" at the root, "moe.n_active" below it.
  std::string key_path(std::string_view key) const;

  // True if the key is present and not null. Registers the key as known (for did-you-mean) but
  // does not consume it.
  bool has(std::string_view key);
  // The raw value, consumed; nullptr when absent (null counts as present here).
  const boost::json::value* get(std::string_view key);

  std::int64_t required_int(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> optional_int(std::string_view key, std::int64_t min, std::int64_t max);
  double required_double(std::string_view key, double min, double max);
  std::optional<double> optional_double(std::string_view key, double min, double max);
  // At most max_chars bytes (a 100,000-character name is an input error, not a window
  // 930,000 px wide).
  std::string required_string(std::string_view key, bool allow_empty = false, std::size_t max_chars = kMaxJsonStringChars);
  std::optional<std::string> optional_string(std::string_view key, bool allow_empty = false,
                                             std::size_t max_chars = kMaxJsonStringChars);
  // One of `choices` (exact, case-sensitive); the error lists them and suggests the closest.
  std::string required_enum(std::string_view key, const std::vector<std::string>& choices);
  std::optional<std::string> optional_enum(std::string_view key, const std::vector<std::string>& choices);
  bool required_bool(std::string_view key);
  std::optional<bool> optional_bool(std::string_view key);
  JsonObjectReader required_object(std::string_view key);
  std::optional<JsonObjectReader> optional_object(std::string_view key);
  // An array with min_size..max_size elements (min_size >= 1 rejects []).
  const boost::json::array& required_array(std::string_view key, std::size_t min_size, std::size_t max_size);
  const boost::json::array* optional_array(std::string_view key, std::size_t min_size, std::size_t max_size);
  // An array of integers, each in [min, max]; element errors name "key[i]".
  std::vector<std::int64_t> required_int_array(std::string_view key, std::int64_t min, std::int64_t max, std::size_t min_size,
                                               std::size_t max_size);

  // The object's keys in document order (for maps keyed by name, e.g. a GPU's "stacks").
  std::vector<std::string> keys() const;
  // Declare keys as known without reading them (for did-you-mean on conditional keys).
  void know(std::initializer_list<std::string_view> keys);
  // Throws InputError naming the first key (in document order) that no accessor consumed.
  void finish() const;

  // Throw InputError(file, key_path(key), expected, found).
  [[noreturn]] void fail(std::string_view key, const std::string& expected, const std::string& found) const;
  // Throw ConfigError with the same shape (well-formed but inconsistent values).
  [[noreturn]] void fail_config(std::string_view key, const std::string& expected, const std::string& found) const;

  // Collecting mode (a user's file: every error at once). After collect_errors(), an accessor
  // that finds a bad or missing value records the error and returns a fallback (the minimum, the
  // first choice, false, empty, nullopt; a missing object reads as an empty one whose own errors
  // are not recorded) instead of throwing, and finish() records every unknown key. Readers made
  // from this one share the record. Checks across values in the loader should run only while
  // clean(), since a fallback is not the file's value. throw_collected() throws what was
  // recorded: the error itself when there is one, InputErrors when there are more.
  void collect_errors();
  bool clean() const { return !collected_ || collected_->empty(); }
  void throw_collected() const;

  // Checks used by the accessors, public for array elements and other callers.
  static std::int64_t to_int(const boost::json::value& v, const std::string& file, const std::string& key, std::int64_t min,
                             std::int64_t max);
  static double to_double(const boost::json::value& v, const std::string& file, const std::string& key, double min, double max);

 private:
  const boost::json::value* find(std::string_view key, bool consume, bool null_is_absent);
  [[noreturn]] void missing(std::string_view key, const std::string& expected) const;
  JsonObjectReader stand_in(std::string_view key) const;

  // Runs an accessor body; in collecting mode its InputError is recorded and `fallback`
  // returned (only at the outermost accessor call: accessors call one another).
  template <class F, class T>
  T guarded(F&& body, T fallback);

  std::shared_ptr<std::vector<std::exception_ptr>> collected_;  // null: not collecting
  bool silent_ = false;                                         // a stand-in for a missing object: its errors are consequences
  int depth_ = 0;
  const boost::json::object* obj_;
  std::string file_;
  std::string path_;
  std::set<std::string, std::less<>> consumed_;
  std::vector<std::string> known_;  // every key asked for, in order
};

}  // namespace kvscope
