// The Odoo connector, for the two protocols Odoo speaks (the configuration's `protocol`):
//   jsonrpc (Odoo 16 to 19): POST /jsonrpc, common.login once for the uid, then
//            object.execute_kw(db, uid, password, model, method, args, kwargs);
//   json2   (Odoo 19 on):    POST /json/2/<model>/<method> with keyword arguments,
//            Authorization: bearer <API key>, X-Odoo-Database: <db>.
// Odoo closes the connection after every answer, on both protocols, so nothing is kept open.
//
// Commands delivered (docs/operations.md, The Odoo connector):
//   odoo.maintenance.create {asset, priority, reason} -> a maintenance.request, made through
//     `load` with an external id derived from the command id, so that a retry after a timeout,
//     or a resend after takt was killed, finds the record made the first time instead of
//     making a second one; its equipment found by `equipment_field` (default name).
//   odoo.production.done {order, good, scrap} -> the mrp.production whose `order_field`
//     (default origin) is the order: confirmed if a draft, qty_producing = good, then
//     button_mark_done without a backorder and past the consumption warning; an order found
//     done already is delivered (a resend changes nothing).
//   odoo.quality.alert {order, reason, asset} -> a To-Do mail.activity on that order, through
//     `load` with the external id, then one message in its chatter, posted only by the
//     delivery that made the activity (message_post cannot be made idempotent).
// Other odoo.* commands are final errors naming what this connector delivers.
#ifndef TAKT_ENGINE_CONNECT_ODOO_H_
#define TAKT_ENGINE_CONNECT_ODOO_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/connect/connector.h"
#include "engine/connect/http.h"

namespace takt::connect {

// How the connector sends one request and gets its answer: HttpClient::Post by default. Tests
// and fuzzing give it Odoo's answers without a network.
using HttpPost = std::function<HttpAnswer(const std::string& url,
                                          const std::vector<std::string>& headers,
                                          std::string_view body, int64_t timeout_ms)>;

std::unique_ptr<Connector> MakeOdooConnector(const ConnectorOptions& options,
                                             HttpPost post = nullptr);

// The external id (module takt_cmd) of the record a command makes: its id with what Odoo does
// not take in a name replaced by '_', and 8 hex digits of its SHA-256, so that two ids that
// differ only there stay two records.
std::string OdooExternalId(std::string_view command_id);

// What a JSON-RPC error (`error.data.name`) or a JSON-2 error (HTTP `status`, body `name`)
// means: Odoo's own exceptions (odoo.exceptions.*: access denied, validation, missing record,
// user error) and builtins.* (a wrong value: JSON-2 answers it with HTTP 500) are final, since
// sending the same again fails the same way; anything else (a database conflict, a worker
// restarting) may succeed later.
bool OdooErrorIsFinal(std::string_view name);

}  // namespace takt::connect

#endif  // TAKT_ENGINE_CONNECT_ODOO_H_
