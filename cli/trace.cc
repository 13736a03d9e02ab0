// takt trace --db FILE KEY [--json]: the timeline of one instance, from the database.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/terminal_text.h"
#include "takt/store.h"

namespace takt::cli {

Runner AddTrace(CLI::App& app) {
  struct Args {
    std::string db;
    std::string key;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "trace", "What happened to one instance, and why: events, transitions, rules, commands");
  cmd->add_option("--db", args->db, "takt database")->required();
  cmd->add_option("key", args->key, "instance key (an order, an asset)")->required();
  cmd->add_flag("--json", args->json, "a JSON document instead of text");
  return [args] {
    Result<std::string> trace = TraceInstance(args->db, args->key, args->json);
    if (!trace.ok()) {
      std::cerr << "takt trace: " << ForTerminal(trace.status().message()) << "\n";
      return trace.status().code() == Code::kNotFound ? 1 : 2;
    }
    // JSON escapes what it holds; the text quotes ids and bodies as they came.
    std::cout << (args->json ? trace.value() : ForTerminal(trace.value()));
    return 0;
  };
}

}  // namespace takt::cli
