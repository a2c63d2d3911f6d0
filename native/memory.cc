#include "memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace zkp {
namespace {

// Live maps by start address, so releasePages only ever advises memory that
// mapFile mapped (MADV_DONTNEED on malloc'd memory would zero it).
std::mutex maps_mutex;
std::map<uintptr_t, size_t> live_maps;

Napi::Value ThrowErrno(Napi::Env env, const std::string& path, int error) {
  const char* code = error == ENOENT ? "ENOENT" : error == EISDIR ? "EISDIR" : error == EACCES ? "EACCES" : "EIO";
  Napi::Error e = Napi::Error::New(env, "zkp_native: mapFile " + path + ": " + std::strerror(error));
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

// mapFile(path) -> ArrayBuffer over the whole file, mapped copy-on-write
// (MAP_PRIVATE): pages are read from the page cache on first touch and a
// write stays private to this process, so no JS code can change the file or
// fault on a read-only page. Unmapped when the ArrayBuffer is collected.
// Throws an Error whose code is ENOENT, EISDIR, EACCES (else EIO).
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "zkp_native: mapFile(path: string) expected").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd;
  do {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ThrowErrno(env, path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int error = errno;
    close(fd);
    return ThrowErrno(env, path, error);
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return ThrowErrno(env, path, EISDIR);
  }
  const size_t size = (size_t)st.st_size;
  if (size == 0) {
    close(fd);
    return Napi::ArrayBuffer::New(env, 0);
  }
  void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int map_error = errno;
  close(fd);  // the map keeps the file
  if (data == MAP_FAILED) return ThrowErrno(env, path, map_error);
  {
    std::lock_guard<std::mutex> lock(maps_mutex);
    live_maps[(uintptr_t)data] = size;
  }
  return Napi::ArrayBuffer::New(env, data, size, [](Napi::Env, void* start, size_t* length) {
    {
      std::lock_guard<std::mutex> lock(maps_mutex);
      live_maps.erase((uintptr_t)start);
    }
    munmap(start, *length);
    delete length;
  }, new size_t(size));
}

// releasePages(view) -> bytes dropped: the whole pages inside `view`, when it
// lies in a live map, leave this process's resident set (madvise
// MADV_DONTNEED); a later read maps them again from the file. A view that is
// not in a map is left alone (0).
Napi::Value ReleasePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "zkp_native: releasePages(view: Uint8Array) expected").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto view = info[0].As<Napi::Uint8Array>();
  const uintptr_t begin = (uintptr_t)view.Data();
  const uintptr_t end = begin + view.ByteLength();
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  const uintptr_t first = (begin + page - 1) & ~(page - 1);
  const uintptr_t last = end & ~(page - 1);
  if (view.ByteLength() == 0 || last <= first) return Napi::Number::New(env, 0);
  std::lock_guard<std::mutex> lock(maps_mutex);
  auto it = live_maps.upper_bound(begin);
  if (it == live_maps.begin()) return Napi::Number::New(env, 0);
  --it;
  if (end > it->first + it->second) return Napi::Number::New(env, 0);
  if (madvise((void*)first, last - first, MADV_DONTNEED) != 0) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, (double)(last - first));
}

}  // namespace

void register_memory_functions(Napi::Env env, Napi::Object exports) {
  exports.Set("mapFile", Napi::Function::New(env, MapFile, "mapFile"));
  exports.Set("releasePages", Napi::Function::New(env, ReleasePages, "releasePages"));
}

void limit_malloc_retention() {
#ifdef __GLIBC__
  // glibc raises its mmap threshold to the size of each large block freed
  // (up to 32 MiB), after which the MSMs' temporary vectors come from the
  // heaps and stay resident after free; a fixed threshold keeps each of them
  // a map of its own that free returns.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
}

void trim_malloc_arenas() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace zkp
