// The names of an event's outcomes (include/takt/engine.h), as reports, the store and the
// audit chain write them. Here, in the event layer, because every layer above names them.
#include "takt/engine.h"

namespace takt {

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApplied: return "applied";
    case Outcome::kDuplicate: return "duplicate";
    case Outcome::kOwnershipViolation: return "ownership_violation";
    case Outcome::kOutOfSequence: return "out_of_sequence";
    case Outcome::kMalformed: return "malformed";
    case Outcome::kHeld: return "held";
  }
  return "?";
}

}  // namespace takt
