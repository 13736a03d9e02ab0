// What the test VFSs (fault_vfs.h, power_loss_vfs.h) share: a file that wraps the file of the
// VFS they wrap (the platform's, or another test VFS), and methods that pass every call through
// to it, for each test VFS to replace those it changes.
#ifndef TAKT_TESTS_STORE_WRAPPED_VFS_H_
#define TAKT_TESTS_STORE_WRAPPED_VFS_H_

#include <sqlite3.h>

#include <cstddef>

namespace takt::test {

// The head of each test VFS's file struct.
struct WrappedFile {
  sqlite3_file base;
  sqlite3_file* real;  // the wrapped VFS's file, after the test VFS's struct
};

inline sqlite3_file* RealFile(sqlite3_file* f) { return reinterpret_cast<WrappedFile*>(f)->real; }

// Every method, passing the call through to the real file. Version 3 has memory-mapped I/O;
// version 2 leaves it out, so that every change of a file goes through xWrite.
sqlite3_io_methods PassThroughMethods(int version);

using OpenFunction = int (*)(sqlite3_vfs*, const char* name, sqlite3_file*, int flags,
                             int* out_flags);

// Makes `vfs` a copy of the current default VFS under `name`, with files of `own_size` bytes
// (the test VFS's struct, a WrappedFile first) followed by the wrapped VFS's, opened by `open`,
// and registers it as the default. Returns the wrapped VFS.
sqlite3_vfs* RegisterWrappingVfs(sqlite3_vfs& vfs, const char* name, size_t own_size,
                                 OpenFunction open);

// For an `open`: opens `name` with `wrapped` into the file that follows `own_size` bytes of
// `f`, and gives `f` the test VFS's `methods` when the wrapped VFS gave it methods.
int OpenWrapped(sqlite3_vfs* wrapped, const char* name, sqlite3_file* f, size_t own_size,
                int flags, int* out_flags, const sqlite3_io_methods* methods);

}  // namespace takt::test

#endif  // TAKT_TESTS_STORE_WRAPPED_VFS_H_
