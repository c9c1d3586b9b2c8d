#pragma once
// Runs the kvscope binary with arguments and captures stdout, stderr and the exit status.
#include <string>
#include <vector>

struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
};

CliResult run_kvscope(const std::vector<std::string>& args, const std::string& stdin_text = "");
std::string temp_dir();  // a fresh directory for one test
