// A Store that writes the event log and the audit chain on a thread of its own, while the
// engine applies the next events. Those two rows are most of a durable engine's time per event
// (the log row's insert, the chain's SHA-256), and the engine never reads them back within a
// batch: they are copied, queued, and written in order by the writer thread. Calls on tables no
// queued row touches (the inbox, sequence positions, instances, rule state, the outbox, cursors:
// what an event reads and writes, and what the end of a batch writes) go on meanwhile, taking
// turns with the writer on the store underneath, one row of the writer's at a time (SQLite's
// hashing outside its turns: Store::TakeTurnsInside()). Every other call (the commit, reads of
// the log) first waits until the queue is written. The writer is woken for every 64 rows, and
// at the end of a batch's events (its first write of what changed), so that the commit finds
// little left to wait for.
//
// A queued row that fails fails the batch: the next call that waits for the queue (the batch's
// Commit() at the latest) returns its error, and nothing queued after it is written; Rollback()
// puts the store back to the last commit as it always did. A call beside the queue that fails
// after a queued row did returns the row's failure: it is the cause (SQLite refuses the rest of
// a batch it rolled back by itself). What is durable, and when, does not change: Commit()
// writes the queue first.
#ifndef TAKT_ENGINE_STORE_WRITE_BEHIND_STORE_H_
#define TAKT_ENGINE_STORE_WRITE_BEHIND_STORE_H_

#include <memory>

#include "engine/store/store.h"

namespace takt::store {

// `inner` is used from two threads, never at once: its calls are serialised here.
std::unique_ptr<Store> WriteBehind(std::unique_ptr<Store> inner);

}  // namespace takt::store

#endif  // TAKT_ENGINE_STORE_WRITE_BEHIND_STORE_H_
