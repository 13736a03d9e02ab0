// takt generate plant: the plant workload (docs/workload.md) as JSON Lines.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "takt/workload.h"

namespace takt::cli {

Runner AddGenerate(CLI::App& app) {
  struct Args {
    PlantWorkloadOptions plant;
    std::string out = "-";
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate a synthetic workload");
  cmd->require_subcommand(1);
  CLI::App* plant = cmd->add_subcommand(
      "plant", "The plant workload: production orders, alarms, maintenance (see docs/workload.md)");
  PlantWorkloadOptions& o = args->plant;
  plant->add_option("--orders", o.orders, "production orders to simulate")->capture_default_str();
  plant->add_option("--assets", o.assets, "assets (A01, A02, ...)")->capture_default_str();
  plant->add_option("--seed", o.seed, "random seed")->capture_default_str();
  plant->add_option("--duplicate-rate", o.duplicate_rate,
                    "probability that an event is delivered twice (same id)")
      ->capture_default_str();
  plant->add_option("--delay-rate", o.delay_rate,
                    "probability that an event is delivered after later events of its key")
      ->capture_default_str();
  plant->add_option("--foreign-rate", o.foreign_rate,
                    "probability that a non-owning source sends an extra copy")
      ->capture_default_str();
  plant->add_option("--alarm-rate", o.alarm_rate, "SCADA alarms per asset per simulated hour")
      ->capture_default_str();
  plant->add_option("--out", args->out, "output file ('-': standard output)")
      ->capture_default_str();
  return [args] {
    Status valid = ValidatePlantWorkload(args->plant);
    if (!valid.ok()) {
      std::cerr << "takt generate plant: " << valid.message() << "\n";
      return 2;
    }
    std::FILE* out = args->out == "-" ? stdout : std::fopen(args->out.c_str(), "wb");
    if (out == nullptr) {
      std::cerr << "takt generate plant: cannot write " << args->out << "\n";
      return 2;
    }
    static char buffer[1 << 20];
    std::setvbuf(out, buffer, _IOFBF, sizeof buffer);
    Result<uint64_t> written = GeneratePlantWorkload(args->plant, [out](std::string_view line) {
      std::fwrite(line.data(), 1, line.size(), out);
      std::fputc('\n', out);
    });
    const bool write_failed = std::fflush(out) != 0 || std::ferror(out) != 0;
    if (out != stdout) std::fclose(out);
    if (write_failed) {
      std::cerr << "takt generate plant: error writing " << args->out << "\n";
      return 2;
    }
    std::cerr << "takt generate plant: " << written.value() << " events, " << args->plant.orders
              << " orders, " << args->plant.assets << " assets, seed " << args->plant.seed << "\n";
    return 0;
  };
}

}  // namespace takt::cli
