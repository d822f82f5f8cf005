// doctest entry point for the unit tests.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "e2ee/crypto.hpp"

int main(int argc, char** argv) {
  lotse::e2ee::init_crypto();
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
