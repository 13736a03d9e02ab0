// takt audit verify --db FILE: recompute the audit hash chain; exit 1 when it is broken.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/terminal_text.h"
#include "takt/store.h"

namespace takt::cli {

Runner AddAudit(CLI::App& app) {
  auto db = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("audit", "Check the audit trail of a database");
  CLI::App* verify = cmd->add_subcommand("verify", "Recompute the audit hash chain");
  cmd->require_subcommand(1);
  verify->add_option("--db", *db, "takt database")->required();
  return [db] {
    Result<AuditVerification> v = VerifyAudit(*db);
    if (!v.ok()) {
      std::cerr << "takt audit verify: " << ForTerminal(v.status().message()) << "\n";
      return 2;
    }
    if (!v.value().ok) {
      std::cout << "audit chain BROKEN after " << v.value().rows
                << " good rows: " << v.value().problem << "\n";
      return 1;
    }
    std::cout << "audit chain ok: " << v.value().rows << " rows, head " << v.value().head << "\n";
    return 0;
  };
}

}  // namespace takt::cli
