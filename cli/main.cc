// takt: the command line. Exit codes: 0 success, 1 the input has errors (definitions that do
// not compile), 2 usage errors and files that cannot be read.
#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "takt/takt.h"

int main(int argc, char** argv) {
  takt::cli::TuneAllocator();
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
  add(takt::cli::AddDispatch);
  add(takt::cli::AddDlq);
  add(takt::cli::AddServe);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (const CLI::App* sub : app.get_subcommands()) return runners.at(sub)();
  return 2;
}
