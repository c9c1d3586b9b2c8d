// kvscope — command-line front end; everything is in run_cli (app.cpp).
#include "app.hpp"

int main(int argc, char** argv) {
  return kvscope::cli::run_cli(argc, argv);
}
