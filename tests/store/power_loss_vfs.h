// A SQLite VFS for tests that simulates losing power, as SQLite's own crash tests do: it
// remembers every write (and truncation) a file has had since its last sync, and at a chosen
// moment takes them back (the disk never got them) or turns them into garbage (it got some
// bytes of them, or others). From then on every write and sync fails, as on a machine without
// power, until the test restores it; the database file is then what a reboot would find.
// Files are taken as they are named: a file created since the last sync of its directory is
// kept (SQLite syncs the directory when it makes the WAL). Syncs are counted, not made.
#ifndef TAKT_TESTS_STORE_POWER_LOSS_VFS_H_
#define TAKT_TESTS_STORE_POWER_LOSS_VFS_H_

#include <cstdint>

namespace takt::test {

enum class PowerLoss : uint8_t {
  kDropUnsynced,     // every write since its file's last sync is undone
  kGarbleUnsynced,   // every byte written since its file's last sync is random
};

// Registers the VFS as SQLite's default for this process (once; later calls do nothing). It
// passes everything through until armed.
void InstallPowerLossVfs();
// The power goes at the write, sync or truncation after `n` more (0: the next one), in the way
// `how` says; random bytes come from `seed`. That call and every later one fails with an I/O
// error.
void LosePowerAfter(int64_t n, PowerLoss how, uint64_t seed);
bool PowerWasLost();
// Writes, syncs and truncations made through the VFS since it was installed.
int64_t FileChanges();
// Syncs of a WAL file (a name ending in -wal) made since it was installed, through SQLite or
// takt's own fdatasync: every commit written before one is on disk.
int64_t WalSyncs();
// Power back: writes and syncs go through again, nothing is remembered as unsynced. Call it once
// every connection of the lost run is closed.
void RestorePower();

}  // namespace takt::test

#endif  // TAKT_TESTS_STORE_POWER_LOSS_VFS_H_
