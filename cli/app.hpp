#pragma once
// The whole `kvscope` command line as a function (main() calls it; the output fuzzer calls it
// many times in one process). Returns the exit status (docs/reliability.md has the table).
namespace kvscope::cli {
int run_cli(int argc, char** argv);
}
