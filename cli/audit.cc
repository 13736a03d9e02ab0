// takt audit verify --db FILE [--expect-head HASH:ROWS]: recompute the audit hash chain; exit 1
// when it is broken or does not pass through the expected head.
// takt audit head --db FILE: verify, then print the head as HASH:ROWS, to keep elsewhere.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/terminal_text.h"
#include "takt/store.h"

namespace takt::cli {

Runner AddAudit(CLI::App& app) {
  struct Args {
    std::string db;
    std::string expect_head;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("audit", "Check the audit trail of a database");
  cmd->require_subcommand(1);
  CLI::App* verify = cmd->add_subcommand("verify", "Recompute the audit hash chain");
  verify->add_option("--db", args->db, "takt database")->required();
  verify->add_option("--expect-head", args->expect_head,
                     "HASH:ROWS from an earlier takt audit head: the chain must pass through it");
  verify->footer("Exit status: 0 the chain verifies; 1 it is broken, or does not pass through\n"
                 "the expected head; 2 the database cannot be read or HASH:ROWS is not one.");
  CLI::App* head = cmd->add_subcommand(
      "head", "Verify the chain and print its head as HASH:ROWS, to keep outside the database");
  head->add_option("--db", args->db, "takt database")->required();
  head->footer("Exit status: 0 printed; 1 the chain is broken; 2 the database cannot be read.");
  return [args, verify, head] {
    const char* const verb = head->parsed() ? "takt audit head: " : "takt audit verify: ";
    Result<AuditVerification> v = Status::InvalidArgument("no subcommand");
    if (verify->parsed() && !args->expect_head.empty()) {
      Result<AuditHead> expected = ParseAuditHead(args->expect_head);
      if (!expected.ok()) {
        std::cerr << verb << "--expect-head: " << expected.status().message() << "\n";
        return 2;
      }
      v = VerifyAudit(args->db, expected.value());
    } else {
      v = VerifyAudit(args->db);
    }
    if (!v.ok()) {
      std::cerr << verb << ForTerminal(v.status().message()) << "\n";
      return 2;
    }
    if (!v.value().ok) {
      (head->parsed() ? std::cerr : std::cout)
          << "audit chain BROKEN after " << v.value().rows
          << " good rows: " << ForTerminal(v.value().problem) << "\n";
      return 1;
    }
    if (head->parsed()) {
      std::cout << v.value().head << ":" << v.value().rows << "\n";
      return 0;
    }
    std::cout << "audit chain ok: " << v.value().rows << " rows, head " << v.value().head;
    if (!args->expect_head.empty()) std::cout << ", through the expected head";
    std::cout << "\n";
    return 0;
  };
}

}  // namespace takt::cli
