#include <string>
#include <string_view>
#include <vector>

#include "engine/connect/http.h"
#include "engine/connect/odoo.h"
#include "fuzz/fuzz_targets.h"

namespace takt::fuzz {
namespace {

constexpr std::string_view kSecret = "odoo-api-key-0123";
constexpr long kStatuses[] = {200, 200, 200, 401, 500, 404, 429, 503};
constexpr const char* kCommands[] = {"odoo.maintenance.create", "odoo.production.done",
                                     "odoo.quality.alert"};
constexpr const char* kPayloads[] = {
    R"({"asset":"A07","priority":"high","reason":"OVERTEMP"})",
    R"({"order":"MO-000042","good":5,"scrap":0})",
    R"({"order":"MO-000042","asset":"A07","reason":"OVERTEMP"})"};

}  // namespace

int FuzzOdooAnswers(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  // The records: Odoo's answers in the order the connector asks (the first byte of each picks
  // its HTTP status), or first, with mode bit 4, the command's own data.
  std::vector<std::string_view> records;
  for (size_t at = 0; at <= rest.size();) {
    const size_t end = std::min(rest.find('\x1e', at), rest.size());
    records.push_back(rest.substr(at, end - at));
    at = end + 1;
  }
  ConnectorOptions options;
  options.name = "erp";
  options.kind = "odoo";
  options.url = "http://odoo.invalid";
  options.protocol = (mode & 1) != 0 ? "json2" : "jsonrpc";
  options.database = "plant";
  options.login = "takt";
  options.secret = std::string(kSecret);
  options.backorder = (mode & 8) != 0 ? "create" : "skip";
  Command command;
  command.id = "cmd-0001";
  const size_t kind = (mode >> 1) % 3;
  command.name = kCommands[kind];
  command.payload_json = kPayloads[kind];
  size_t next = 0;
  if ((mode & 16) != 0 && !records.empty()) command.payload_json = std::string(records[next++]);
  command.caused_by = "ev-1";
  command.emitted_by = "rule alarm_to_maintenance@0123456789abcdef";
  auto post = [&](const std::string&, const std::vector<std::string>&, std::string_view,
                  int64_t) {
    connect::HttpAnswer answer;
    if (next >= records.size()) {
      answer.retryable = true;
      answer.transport_error = "no answer";
      return answer;
    }
    const std::string_view record = records[next++];
    answer.sent = true;
    answer.status = record.empty() ? 200 : kStatuses[static_cast<uint8_t>(record[0]) % 8];
    answer.body = std::string(record.empty() ? record : record.substr(1));
    return answer;
  };
  const connect::Attempt attempt = connect::MakeOdooConnector(options, post)->Deliver(command);
  Require(attempt.kind == connect::Attempt::Kind::kDelivered || !attempt.error.empty(),
          "a delivery that failed says why");
  if (rest.find(kSecret) == std::string_view::npos) {
    Require(attempt.error.find(kSecret) == std::string::npos, "no error shows the secret");
  }
  return 0;
}

}  // namespace takt::fuzz
