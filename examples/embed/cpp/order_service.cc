// order_service: a minimal service embedding takt. It reads plant events (JSON Lines) from
// standard input, submits them in batches to an engine on a SQLite database, and after each
// commit delivers the commands the engine emitted: here "delivering" writes them to standard
// output, where a real service would call Odoo or a maintenance system. Run it twice on the
// same input and the second run delivers nothing: the events are duplicates by then, and
// every command was marked delivered.
//
//   order_service --workflows DIR [--rules DIR] --db FILE < events.jsonl > delivered.jsonl
#include <takt/engine.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

struct Arguments {
  takt::EngineOptions options;
  bool ok = false;
};

Arguments Parse(int argc, char** argv) {
  Arguments args;
  args.options.workflow_paths.clear();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--workflows") {
      args.options.workflow_paths.push_back(value);
    } else if (flag == "--rules") {
      args.options.rules_dir = value;
    } else if (flag == "--db") {
      args.options.store_path = value;
    } else {
      return args;
    }
  }
  args.ok = (argc % 2 == 1) && !args.options.workflow_paths.empty() &&
            !args.options.store_path.empty();
  return args;
}

// `text` as a JSON string.
std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// Hands every pending command to its receiver, oldest first, and marks it delivered.
bool DeliverPending(takt::Engine& engine, uint64_t& delivered) {
  while (true) {
    takt::Result<std::vector<takt::PendingCommand>> pending = engine.PendingCommands(256);
    if (!pending.ok()) {
      std::cerr << "order_service: " << pending.status().message() << "\n";
      return false;
    }
    if (pending.value().empty()) return true;
    for (const takt::PendingCommand& p : pending.value()) {
      const takt::Command& c = p.command;
      // The receiver: a line per command. The id lets a receiver apply each command once.
      std::cout << "{\"id\":" << Quoted(c.id) << ",\"name\":" << Quoted(c.name)
                << ",\"caused_by\":" << Quoted(c.caused_by) << ",\"payload\":" << c.payload_json
                << "}\n";
      takt::Status marked = engine.MarkDelivered(c.id);
      if (!marked.ok()) {
        std::cerr << "order_service: " << marked.message() << "\n";
        return false;
      }
      ++delivered;
    }
    std::cout.flush();
  }
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args = Parse(argc, argv);
  if (!args.ok) {
    std::cerr << "usage: order_service --workflows DIR [--rules DIR] --db FILE < events.jsonl\n";
    return 2;
  }
  // takt prints nothing on its own: its messages come here.
  args.options.on_log = [](takt::LogLevel level, std::string_view message) {
    if (level >= takt::LogLevel::kWarn) std::cerr << "takt: " << message << "\n";
  };
  takt::Result<std::unique_ptr<takt::Engine>> opened = takt::Engine::Open(args.options);
  if (!opened.ok()) {
    std::cerr << "order_service: " << opened.status().message() << "\n";
    return 1;
  }
  takt::Engine& engine = *opened.value();

  // Commands a previous run committed but did not get to deliver go first.
  uint64_t delivered = 0;
  if (!DeliverPending(engine, delivered)) return 1;

  std::vector<std::string> lines;
  std::vector<std::string_view> batch;
  std::vector<takt::SubmitResult> results;
  uint64_t rejected = 0;
  auto submit = [&]() -> bool {
    batch.assign(lines.begin(), lines.end());
    takt::Status status = engine.SubmitBatch(batch, results);
    if (!status.ok()) {  // nothing of the batch was accepted; a real service would retry
      std::cerr << "order_service: " << status.message() << "\n";
      return false;
    }
    for (const takt::SubmitResult& r : results) rejected += r.outcome != takt::Outcome::kApplied;
    lines.clear();
    return DeliverPending(engine, delivered);
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    lines.push_back(line);
    if (lines.size() == 256 && !submit()) return 1;
  }
  if (!lines.empty() && !submit()) return 1;

  const takt::EngineStats stats = engine.stats();
  std::cerr << "order_service: " << stats.events << " events in the database, " << rejected
            << " rejected in this run, " << delivered << " commands delivered\n";
  takt::Status closed = engine.Close();
  if (!closed.ok()) {
    std::cerr << "order_service: " << closed.message() << "\n";
    return 1;
  }
  return 0;
}
