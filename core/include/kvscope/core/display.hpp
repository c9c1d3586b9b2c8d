#pragma once
// Text that came from input files or arguments (model names, ids, paths, command lines, error
// messages quoting them), made safe to print on a terminal, in a table cell or in a CSV comment:
// control characters (C0 including newline and tab, DEL, C1 such as U+009B CSI) and invalid
// UTF-8 bytes are escaped (\n, \t, \r, \x1b, \u009b), so no input can move the cursor, change
// colours, or break a line of a table or a "# ..." comment; text longer than `max_chars` code
// points is elided in the middle ("abc…(99950 more)…xyz").
#include <cstddef>
#include <string>
#include <string_view>

namespace kvscope {

// max_chars = 0: no elision.
std::string display_text(std::string_view text, std::size_t max_chars = 0);

// Like display_text but keeps '\n' (line structure of a whole report); every other control
// character is escaped. For text outputs assembled from many pieces.
std::string terminal_safe(std::string_view text);

// Longest string the JSON loaders accept in any field, and in names / ids (characters = bytes).
inline constexpr std::size_t kMaxJsonStringChars = 8192;
inline constexpr std::size_t kMaxNameChars = 256;

}  // namespace kvscope
