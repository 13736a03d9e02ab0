// Bytes as lowercase hex digits: digests as the audit chain, input cursors, webhook signatures
// and Odoo external ids write them.
#ifndef TAKT_ENGINE_EVENT_HEX_H_
#define TAKT_ENGINE_EVENT_HEX_H_

#include <cstddef>
#include <string>

namespace takt {

std::string HexOf(const unsigned char* bytes, size_t size);

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_HEX_H_
