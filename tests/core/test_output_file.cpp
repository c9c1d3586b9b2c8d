// OutputFile (core/output_file.hpp), the sink every command writes through, with injected write
// failures and odd targets; display_text / terminal_safe (core/display.hpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/output_file.hpp"

using namespace kvscope;
namespace fs = std::filesystem;

namespace {
std::string tmpdir() {
  char t[] = "/tmp/kvscope-out-XXXXXX";
  return ::mkdtemp(t);
}
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
int entries(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
struct NoInjection {
  ~NoInjection() { inject_output_write_failure(0, 0); }
};
}  // namespace

TEST_CASE("OutputFile: an injected write failure at any byte keeps the old file and leaves no temporary", "[output_file]") {
  NoInjection guard;
  const fs::path dir = tmpdir();
  const fs::path f = dir / "out.csv";
  std::ofstream(f) << "old\n";
  const std::string big(300000, 'x');  // past the 64 KiB buffer: several underlying writes
  for (std::uint64_t at : {0ull, 1ull, 65535ull, 65536ull, 200000ull, 299999ull}) {
    for (int err : {ENOSPC, EIO, EFBIG, EPIPE}) {
      INFO("fail after " << at << " bytes with errno " << err);
      inject_output_write_failure(at, err);
      const std::string msg = error_of([&] {
        OutputFile o(f.string());
        o.write(big.substr(0, 1000));
        o.write(big);
        o.commit();
      });
      CHECK(msg == "cannot write '" + f.string() + "': " + std::strerror(err));
      CHECK(slurp(f) == "old\n");
      CHECK(entries(dir) == 1);
      CHECK(pending_output_temporaries() == 0);
    }
  }
  inject_output_write_failure(0, 0);
  write_output(f.string(), big);
  CHECK(slurp(f) == big);
  fs::remove_all(dir);
}

TEST_CASE("OutputFile: stdout failures name stdout", "[output_file]") {
  NoInjection guard;
  inject_output_write_failure(0, ENOSPC);
  CHECK(error_of([] { write_output("-", "x"); }) == "cannot write to stdout: No space left on device");
  CHECK(error_of([] { write_output("", "x"); }) == "cannot write to stdout: No space left on device");
}

TEST_CASE("OutputFile: temporaries are exclusive, hidden beside the target, registered until commit", "[output_file]") {
  const fs::path dir = tmpdir();
  const fs::path f = dir / "r.json";
  {
    OutputFile a(f.string());
    OutputFile b(f.string());  // two at once: distinct temporaries
    CHECK(pending_output_temporaries() == 2);
    CHECK(entries(dir) == 2);
    for (const auto& e : fs::directory_iterator(dir)) {
      CHECK(e.path().filename().string().rfind(".r.json.tmp.", 0) == 0);
      struct stat st {};
      REQUIRE(::lstat(e.path().c_str(), &st) == 0);
      CHECK((st.st_mode & 0777) == 0600);  // nobody else can read a half-written result
    }
    a.write("a");
    a.commit();
    CHECK(pending_output_temporaries() == 1);
    // What a signal handler does: the uncommitted one goes.
    CHECK(remove_output_temporaries() == 1);
    CHECK(entries(dir) == 1);
  }
  CHECK(pending_output_temporaries() == 0);
  CHECK(slurp(f) == "a");
  fs::remove_all(dir);
}

TEST_CASE("OutputFile: odd targets", "[output_file]") {
  const fs::path dir = tmpdir();
  struct Row {
    const char* name;
    std::function<std::string()> make;  // returns the path to write
    std::string message;                // "" = success
  };
  const std::vector<Row> rows = {
      {"a directory", [&] { return dir.string(); }, "cannot write '" + dir.string() + "': is a directory"},
      {"a missing folder", [&] { return (dir / "no" / "f").string(); },
       "cannot write '" + (dir / "no" / "f").string() + "': folder '" + (dir / "no").string() + "': No such file or directory"},
      {"a file as folder",
       [&] {
         std::ofstream(dir / "plain") << "x";
         return (dir / "plain" / "f").string();
       },
       "cannot write '" + (dir / "plain" / "f").string() + "': Not a directory"},
      {"/dev/full", [] { return std::string("/dev/full"); }, "cannot write '/dev/full': No space left on device"},
      {"/dev/null", [] { return std::string("/dev/null"); }, ""},
      {"a symlink loop",
       [&] {
         fs::create_symlink("loop2", dir / "loop1");
         fs::create_symlink("loop1", dir / "loop2");
         return (dir / "loop1").string();
       },
       "cannot write '" + (dir / "loop1").string() + "': Too many levels of symbolic links"},
      {"a 300-character name", [&] { return (dir / std::string(250, 'n')).string(); }, ""},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    const std::string path = row.make();
    CHECK(error_of([&] { write_output(path, "content"); }) == row.message);
  }
  CHECK(fs::is_character_file("/dev/null"));
  // No temporaries anywhere in the folder.
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("same_output_file: by identity, through links and spellings", "[output_file]") {
  const fs::path dir = tmpdir();
  std::ofstream(dir / "a.svg") << "x";
  fs::create_symlink("a.svg", dir / "link.svg");
  CHECK(same_output_file((dir / "a.svg").string(), (dir / "link.svg").string()));
  CHECK(same_output_file((dir / "a.svg").string(), (dir / "." / "a.svg").string()));
  CHECK(same_output_file((dir / "new.svg").string(), (dir / "." / "new.svg").string()));
  CHECK_FALSE(same_output_file((dir / "a.svg").string(), (dir / "b.svg").string()));
  CHECK_FALSE(same_output_file("", ""));
  CHECK_FALSE(same_output_file("-", (dir / "a.svg").string()));
  fs::remove_all(dir);
}

TEST_CASE("display_text escapes control characters and invalid UTF-8, elides long text", "[output_file][display]") {
  struct Row {
    std::string in;
    std::size_t max;
    std::string out;
  };
  const std::vector<Row> rows = {
      {"plain", 0, "plain"},
      {"µs Δ –", 0, "µs Δ –"},
      {"a\nb", 0, "a\\nb"},
      {"tab\there\r", 0, "tab\\there\\r"},
      {"\x1b[31mred", 0, "\\x1b[31mred"},
      {"del\x7f", 0, "del\\x7f"},
      {"csi\xc2\x9b"
       "2J",
       0, "csi\\u009b2J"},
      {"bad\xff\xfe", 0, "bad\\xff\\xfe"},
      {"overlong\xc0\xaf", 0, "overlong\\xc0\\xaf"},
      {"surrogate\xed\xa0\x80", 0, "surrogate\\xed\\xa0\\x80"},
      {"truncated\xe2\x82", 0, "truncated\\xe2\\x82"},
      {"abcdefghij", 6, "abcd…(4 more)…ij"},
      {"abcdef", 6, "abcdef"},
      {"ééééééééé", 3, "éé…(6 more)…é"},
  };
  for (const Row& r : rows) {
    INFO(r.in);
    CHECK(display_text(r.in, r.max) == r.out);
  }
  CHECK(terminal_safe("line 1\nline\x1b 2\n") == "line 1\nline\\x1b 2\n");
}

TEST_CASE("loaders bound string lengths", "[output_file][loaders]") {
  const boost::json::value v =
      boost::json::parse(R"({"name": ")" + std::string(300, 'x') + R"(", "notes": ")" + std::string(9000, 'y') + "\"}");
  JsonObjectReader r(v, "f.json");
  CHECK(error_of([&] { (void)r.required_string("name", false, kMaxNameChars); }) ==
        "f.json: 'name': expected a non-empty string of at most 256 bytes, found a string of 300 bytes");
  CHECK(error_of([&] { (void)r.required_string("notes"); }) ==
        "f.json: 'notes': expected a non-empty string of at most 8192 bytes, found a string of 9000 bytes");
}
