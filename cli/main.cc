// takt: the command line. Exit codes: 0 success, 1 the input has errors (definitions that do
// not compile), 2 usage errors and files that cannot be read.
#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cli/commands.h"
#include "takt/takt.h"

namespace {

// A simulation's tables (ids seen, sequence positions, instances) grow for as long as events
// come. With glibc's default padding of 128 KiB the heap grows by a thousand small steps over
// two million events, and the pages at its top are given back and taken again as tables are
// reallocated; 64 MiB steps took 20% of the page faults and 15% of the time off the
// 100,000-order stream (docs/performance.md). Address space only: untouched pages cost nothing.
void TuneAllocator() {
#if defined(__GLIBC__)
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  TuneAllocator();
  CLI::App app{"takt: rules and workflow engine for manufacturing integration"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("takt ") + takt_version());
  std::map<const CLI::App*, takt::cli::Runner> runners;
  auto add = [&](takt::cli::Runner (*register_verb)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    takt::cli::Runner runner = register_verb(app);
    runners[app.get_subcommands({}).at(before)] = std::move(runner);
  };
  add(takt::cli::AddCheck);
  add(takt::cli::AddSimulate);
  add(takt::cli::AddGraph);
  add(takt::cli::AddGenerate);
  add(takt::cli::AddTest);
  add(takt::cli::AddTrace);
  add(takt::cli::AddAudit);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (const CLI::App* sub : app.get_subcommands()) return runners.at(sub)();
  return 2;
}
