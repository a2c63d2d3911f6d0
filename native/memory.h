// The addon's share of the process's memory: read-only maps of files (a
// zkey is read in place, its sections never copied into the JS heap), the
// dropping of a map's pages once a prove is done with them, and glibc
// malloc's policy for the large temporary vectors of the MSMs and NTTs.
#pragma once
#include <napi.h>

namespace zkp {

// Adds mapFile and releasePages to the addon's exports (see memory.cc).
void register_memory_functions(Napi::Env env, Napi::Object exports);

// Makes every allocation of 256 KiB or more its own mmap, returned to the
// system by free (glibc only; elsewhere nothing).
void limit_malloc_retention();

// Returns the free memory of every malloc arena to the system (glibc's
// malloc_trim; elsewhere nothing): the per-thread arenas of the worker
// threads otherwise keep each heavy call's smaller buffers.
void trim_malloc_arenas();

}  // namespace zkp
