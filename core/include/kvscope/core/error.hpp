#pragma once
// Typed errors thrown by the kvscope libraries. The libraries never exit(); front ends catch
// these, print what() on one line and exit with status 2.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kvscope {

// `s` with control characters written as escapes ("\n", "\r", "\t", "\x01"): a message quotes
// what the user gave, and must stay one line on stderr whatever that was.
std::string one_line(std::string_view s);

// Base of every kvscope error.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input in a file or an argument: names where (file, flag), the key or position, what was
// expected and what was found.
class InputError : public Error {
 public:
  InputError(std::string where, std::string key, std::string expected, std::string found);
  explicit InputError(const std::string& message) : Error(one_line(message)) {}
  const std::string& where() const noexcept { return where_; }
  const std::string& key() const noexcept { return key_; }
  // Empty when the error was built from a message alone.
  const std::string& expected() const noexcept { return expected_; }
  const std::string& found() const noexcept { return found_; }
  // The design field (core/design_fields.hpp) the error is about, by its canonical name, or ""
  // when it is about none. Set by the layer that knows (scenario resolution, field parsers), so
  // front ends place the error without reading the message.
  const std::string& field() const noexcept { return field_; }
  void set_field(std::string name) { field_ = std::move(name); }

 private:
  std::string field_;
  std::string where_;
  std::string key_;
  std::string expected_;
  std::string found_;
};

// Several input errors of one file, reported together (a user's model or GPU file: every bad
// key at once, not one per run). what() joins them with "; " (one line); front ends that can,
// print messages() one per line.
class InputErrors : public InputError {
 public:
  explicit InputErrors(std::vector<std::string> messages);
  const std::vector<std::string>& messages() const noexcept { return messages_; }

 private:
  std::vector<std::string> messages_;
};

// A configuration that is well formed but inconsistent (heads that don't divide, producer maps
// that point forward, ...). Same message shape as InputError.
class ConfigError : public InputError {
 public:
  using InputError::InputError;
};

// Arithmetic that would overflow or produce a non-finite value.
class NumericError : public Error {
 public:
  using Error::Error;
};

// I/O failure (missing file, unreadable, cannot write).
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace kvscope
