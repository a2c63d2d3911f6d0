// N-API boundary of the native prover backend. Every heavy call validates its
// arguments on the JS thread, then runs on libuv's worker pool (AsyncWorker)
// and returns a promise; input and output buffers are held by references for
// the duration, so the JS side may drop them. Declared for TypeScript in
// src/prover/backends/native/addon.ts.
#include <napi.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "abc.h"
#include "field.h"
#include "fixed_base.h"
#include "ifma.h"
#include "memory.h"
#include "msm_api.h"
#include "ntt.h"
#include "parallel.h"
#include "verify.h"

namespace {

using zkp::Fr;

constexpr size_t kFrBytes = 32;
constexpr unsigned kMaxLog2n = zkp::kFrTwoAdicity;

// "" when every element of the Montgomery Fr vector is below r, else a message naming the first that is not.
std::string CheckCanonicalFr(const char* what, const uint8_t* bytes, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    zkp::u64 limbs[4];
    std::memcpy(limbs, bytes + i * kFrBytes, kFrBytes);
    if (!zkp::is_canonical<zkp::FrParams>(limbs)) return std::string(what) + ": element " + std::to_string(i) + " is not a canonical Fr element (>= r)";
  }
  return "";
}

// Runs `work` off the JS thread; resolves with `result` or rejects with the
// message `work` returned.
class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, std::function<std::string()> work, Napi::Value result, const std::vector<Napi::Value>& keep)
      : Napi::AsyncWorker(env), work_(std::move(work)), deferred_(Napi::Promise::Deferred::New(env)) {
    result_ = Napi::Persistent(result.As<Napi::Object>());
    for (const auto& v : keep) keep_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    // An exception must not escape a libuv worker (it would abort the
    // process); the likely one is std::bad_alloc for an oversized input.
    try {
      const std::string error = work_();
      zkp::trim_malloc_arenas();
      if (!error.empty()) SetError(error);
    } catch (const std::bad_alloc&) {
      SetError("out of memory");
    } catch (const std::exception& e) {
      SetError(std::string("internal error: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(result_.Value()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::function<std::string()> work_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference result_;
  std::vector<Napi::ObjectReference> keep_;
};

Napi::Value Throw(Napi::Env env, const std::string& message) {
  Napi::TypeError::New(env, "zkp_native: " + message).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool IsBytes(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
}

Napi::Uint8Array Bytes(const Napi::Value& v) { return v.As<Napi::Uint8Array>(); }

Napi::Value Queue(Napi::Env env, std::function<std::string()> work, Napi::Value result, const std::vector<Napi::Value>& keep) {
  auto* job = new Job(env, std::move(work), result, keep);
  Napi::Promise promise = job->Promise();
  job->Queue();
  return promise;
}

// msmG1(bases, scalars) / msmG2(bases, scalars): scalars may cover a prefix of the bases.
template <size_t kPointBytes, std::string (*kMsm)(const uint8_t*, const uint8_t*, size_t, uint8_t*)>
Napi::Value Msm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* name = kPointBytes == zkp::kG1AffineBytes ? "msmG1" : "msmG2";
  if (info.Length() != 2 || !IsBytes(info[0]) || !IsBytes(info[1])) {
    return Throw(env, std::string(name) + "(bases: Uint8Array, scalars: Uint8Array) expected");
  }
  auto bases = Bytes(info[0]);
  auto scalars = Bytes(info[1]);
  if (bases.ByteLength() % kPointBytes != 0) {
    return Throw(env, std::string(name) + ": bases length " + std::to_string(bases.ByteLength()) + " is not a multiple of " + std::to_string(kPointBytes));
  }
  if (scalars.ByteLength() % kFrBytes != 0) {
    return Throw(env, std::string(name) + ": scalars length " + std::to_string(scalars.ByteLength()) + " is not a multiple of 32");
  }
  const size_t n = scalars.ByteLength() / kFrBytes;
  if (n > bases.ByteLength() / kPointBytes) {
    return Throw(env, std::string(name) + ": " + std::to_string(n) + " scalars but only " + std::to_string(bases.ByteLength() / kPointBytes) + " bases");
  }
  auto out = Napi::Uint8Array::New(env, kPointBytes);
  const uint8_t* b = bases.Data();
  const uint8_t* s = scalars.Data();
  uint8_t* o = out.Data();
  return Queue(env, [=]() { return kMsm(b, s, n, o); }, out, {bases, scalars});
}

// Checks a Montgomery Fr vector of 2^log2n elements; returns log2n or -1 after throwing.
int CheckVector(const Napi::CallbackInfo& info, const char* name, const Napi::Value& values, const Napi::Value& log2n_value) {
  Napi::Env env = info.Env();
  if (!IsBytes(values) || !log2n_value.IsNumber()) {
    Throw(env, std::string(name) + ": (values: Uint8Array, log2n: number) expected");
    return -1;
  }
  const double log2n = log2n_value.As<Napi::Number>().DoubleValue();
  if (!(log2n >= 0 && log2n <= kMaxLog2n && log2n == (double)(unsigned)log2n)) {
    Throw(env, std::string(name) + ": log2n must be an integer in [0, 28], got " + std::to_string(log2n));
    return -1;
  }
  const size_t expected = (size_t)kFrBytes << (unsigned)log2n;
  if (Bytes(values).ByteLength() != expected) {
    Throw(env, std::string(name) + ": values length " + std::to_string(Bytes(values).ByteLength()) + " does not match 2^" +
                   std::to_string((unsigned)log2n) + " elements (" + std::to_string(expected) + " bytes)");
    return -1;
  }
  return (int)log2n;
}

// ntt(values, log2n, inverse) -> new vector.
Napi::Value Ntt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[2].IsBoolean()) return Throw(env, "ntt(values: Uint8Array, log2n: number, inverse: boolean) expected");
  const int log2n = CheckVector(info, "ntt", info[0], info[1]);
  if (log2n < 0) return env.Undefined();
  const bool inverse = info[2].As<Napi::Boolean>().Value();
  auto in = Bytes(info[0]);
  auto out = Napi::Uint8Array::New(env, in.ByteLength());
  const uint8_t* src = in.Data();
  uint8_t* dst = out.Data();
  const size_t bytes = in.ByteLength();
  return Queue(env, [=]() {
    std::string error = CheckCanonicalFr("ntt", src, bytes / kFrBytes);
    if (!error.empty()) return error;
    std::memcpy(dst, src, bytes);
    zkp::ntt_in_place(reinterpret_cast<Fr*>(dst), (unsigned)log2n, inverse);
    return error;
  }, out, {in});
}

// cosetShift(values, log2n) -> new vector.
Napi::Value CosetShift(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2) return Throw(env, "cosetShift(values: Uint8Array, log2n: number) expected");
  const int log2n = CheckVector(info, "cosetShift", info[0], info[1]);
  if (log2n < 0) return env.Undefined();
  auto in = Bytes(info[0]);
  auto out = Napi::Uint8Array::New(env, in.ByteLength());
  const uint8_t* src = in.Data();
  uint8_t* dst = out.Data();
  const size_t bytes = in.ByteLength();
  return Queue(env, [=]() {
    std::string error = CheckCanonicalFr("cosetShift", src, bytes / kFrBytes);
    if (!error.empty()) return error;
    std::memcpy(dst, src, bytes);
    zkp::coset_shift_in_place(reinterpret_cast<Fr*>(dst), (unsigned)log2n);
    return error;
  }, out, {in});
}

// computeH(a, b, c, log2n) -> standard-form a*b - c over the coset.
Napi::Value ComputeH(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4) return Throw(env, "computeH(a: Uint8Array, b: Uint8Array, c: Uint8Array, log2n: number) expected");
  const int log2n = CheckVector(info, "computeH a", info[0], info[3]);
  if (log2n < 0 || CheckVector(info, "computeH b", info[1], info[3]) < 0 || CheckVector(info, "computeH c", info[2], info[3]) < 0) {
    return env.Undefined();
  }
  const size_t bytes = Bytes(info[0]).ByteLength();
  const uint8_t* a = Bytes(info[0]).Data();
  const uint8_t* b = Bytes(info[1]).Data();
  const uint8_t* c = Bytes(info[2]).Data();
  auto out = Napi::Uint8Array::New(env, bytes);
  uint8_t* dst = out.Data();
  return Queue(env, [=]() {
    const size_t n = bytes / kFrBytes;
    const uint8_t* inputs[3] = {a, b, c};
    const char* names[3] = {"computeH a", "computeH b", "computeH c"};
    for (int k = 0; k < 3; ++k) {
      const std::string error = CheckCanonicalFr(names[k], inputs[k], n);
      if (!error.empty()) return error;
    }
    std::vector<Fr> scratch(3 * n);
    for (int k = 0; k < 3; ++k) {
      Fr* v = scratch.data() + k * n;
      std::memcpy(v, inputs[k], bytes);
      zkp::ntt_in_place(v, (unsigned)log2n, true);
      zkp::coset_shift_in_place(v, (unsigned)log2n);
      zkp::ntt_in_place(v, (unsigned)log2n, false);
    }
    zkp::join_abc(scratch.data(), scratch.data() + n, scratch.data() + 2 * n, reinterpret_cast<Fr*>(dst), n);
    return std::string();
  }, out, {info[0], info[1], info[2]});
}

// buildABC(coeffs, witness, domainSize) -> { a, b, c }.
Napi::Value BuildAbc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !IsBytes(info[0]) || !IsBytes(info[1]) || !info[2].IsNumber()) {
    return Throw(env, "buildABC(coeffs: Uint8Array, witness: Uint8Array, domainSize: number) expected");
  }
  const double domain = info[2].As<Napi::Number>().DoubleValue();
  if (!(domain >= 1 && domain <= (double)(1u << kMaxLog2n) && domain == (double)(size_t)domain)) {
    return Throw(env, "buildABC: domainSize must be an integer in [1, 2^28], got " + std::to_string(domain));
  }
  auto coeffs = Bytes(info[0]);
  auto witness = Bytes(info[1]);
  if (witness.ByteLength() % kFrBytes != 0) {
    return Throw(env, "buildABC: witness length " + std::to_string(witness.ByteLength()) + " is not a multiple of 32");
  }
  const size_t domain_size = (size_t)domain;
  auto a = Napi::Uint8Array::New(env, domain_size * kFrBytes);
  auto b = Napi::Uint8Array::New(env, domain_size * kFrBytes);
  auto c = Napi::Uint8Array::New(env, domain_size * kFrBytes);
  auto result = Napi::Object::New(env);
  result.Set("a", a);
  result.Set("b", b);
  result.Set("c", c);
  const uint8_t* cp = coeffs.Data();
  const size_t coeffs_len = coeffs.ByteLength();
  const uint8_t* wp = witness.Data();
  const size_t witness_len = witness.ByteLength() / kFrBytes;
  uint8_t *ap = a.Data(), *bp = b.Data(), *cc = c.Data();
  return Queue(env, [=]() {
    const std::string error = zkp::build_abc(cp, coeffs_len, wp, witness_len, domain_size, ap, bp, cc);
    return error.empty() ? error : "buildABC: " + error;
  }, result, {coeffs, witness});
}

// buildH(coeffs, witness, domainSize) -> { h, timings }: buildABC then
// computeH in one job, A, B and C held in native memory only and freed
// before it resolves (as separate calls they are three JS buffers alive
// until the next garbage collection, and computeH copies them once more).
// h is computeH's output; timings is a Float64Array of the two steps'
// durations in ms. domainSize must be a power of two.
Napi::Value BuildH(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !IsBytes(info[0]) || !IsBytes(info[1]) || !info[2].IsNumber()) {
    return Throw(env, "buildH(coeffs: Uint8Array, witness: Uint8Array, domainSize: number) expected");
  }
  const double domain = info[2].As<Napi::Number>().DoubleValue();
  if (!(domain >= 1 && domain <= (double)(1u << kMaxLog2n) && domain == (double)(size_t)domain) || ((size_t)domain & ((size_t)domain - 1)) != 0) {
    return Throw(env, "buildH: domainSize must be a power of two in [1, 2^28], got " + std::to_string(domain));
  }
  auto coeffs = Bytes(info[0]);
  auto witness = Bytes(info[1]);
  if (witness.ByteLength() % kFrBytes != 0) {
    return Throw(env, "buildH: witness length " + std::to_string(witness.ByteLength()) + " is not a multiple of 32");
  }
  const size_t n = (size_t)domain;
  unsigned log2n = 0;
  while ((size_t{1} << log2n) < n) ++log2n;
  auto h = Napi::Uint8Array::New(env, n * kFrBytes);
  auto timings = Napi::Float64Array::New(env, 2);
  auto result = Napi::Object::New(env);
  result.Set("h", h);
  result.Set("timings", timings);
  const uint8_t* cp = coeffs.Data();
  const size_t coeffs_len = coeffs.ByteLength();
  const uint8_t* wp = witness.Data();
  const size_t witness_len = witness.ByteLength() / kFrBytes;
  Fr* hp = reinterpret_cast<Fr*>(h.Data());
  double* tp = timings.Data();
  return Queue(env, [=]() {
    using Clock = std::chrono::steady_clock;
    const auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    const auto started = Clock::now();
    std::unique_ptr<Fr[]> abc(new Fr[3 * n]);  // build_abc writes all of it
    Fr* a = abc.get();
    Fr* b = a + n;
    Fr* c = b + n;
    const std::string error = zkp::build_abc(cp, coeffs_len, wp, witness_len, n, reinterpret_cast<uint8_t*>(a),
                                             reinterpret_cast<uint8_t*>(b), reinterpret_cast<uint8_t*>(c));
    if (!error.empty()) return "buildH: " + error;
    const auto built = Clock::now();
    for (Fr* v : {a, b, c}) {
      zkp::ntt_in_place(v, log2n, true);
      zkp::coset_shift_in_place(v, log2n);
      zkp::ntt_in_place(v, log2n, false);
    }
    zkp::join_abc(a, b, c, hp, n);
    tp[0] = ms(built - started);
    tp[1] = ms(Clock::now() - built);
    return std::string();
  }, result, {coeffs, witness});
}

// frBatchInverse(values) -> elementwise inverses (Montgomery in and out; 0 stays 0).
Napi::Value FrBatchInverse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !IsBytes(info[0])) return Throw(env, "frBatchInverse(values: Uint8Array) expected");
  auto in = Bytes(info[0]);
  if (in.ByteLength() % kFrBytes != 0) return Throw(env, "frBatchInverse: length is not a multiple of 32");
  auto out = Napi::Uint8Array::New(env, in.ByteLength());
  const uint8_t* src = in.Data();
  uint8_t* dst = out.Data();
  const size_t bytes = in.ByteLength();
  return Queue(env, [=]() {
    const size_t n = bytes / kFrBytes;
    std::string error = CheckCanonicalFr("frBatchInverse", src, n);
    if (!error.empty()) return error;
    std::memcpy(dst, src, bytes);
    std::vector<Fr> scratch(n);
    zkp::batch_inverse(reinterpret_cast<Fr*>(dst), n, scratch.data());
    return error;
  }, out, {in});
}

// Marks the externals groth16PrepareKey returns, so groth16Verify never
// casts another addon's external.
constexpr napi_type_tag kPreparedKeyTag = {0x6b3f0c2a9d4e4b71ULL, 0xa5c8e1f27d903b64ULL};

// groth16PrepareKey(key) -> opaque prepared key; throws naming a bad key
// (length, a coordinate >= p, a point off its curve or outside G2, alpha,
// beta, gamma or delta at infinity). Byte layout: native/verify.h.
Napi::Value Groth16PrepareKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !IsBytes(info[0])) return Throw(env, "groth16PrepareKey(key: Uint8Array) expected");
  auto bytes = Bytes(info[0]);
  auto* key = new zkp::groth16::PreparedKey();
  const std::string error = zkp::groth16::prepare_key(bytes.Data(), bytes.ByteLength(), key);
  if (!error.empty()) {
    delete key;
    return Throw(env, "groth16PrepareKey: " + error);
  }
  auto external = Napi::External<zkp::groth16::PreparedKey>::New(env, key, [](Napi::Env, zkp::groth16::PreparedKey* k) { delete k; });
  external.TypeTag(&kPreparedKeyTag);
  return external;
}

// groth16Verify(preparedKey, proof, publicSignals) -> "" when the proof
// verifies, else the reason it does not. Throws on wrong types or lengths
// (publicSignals must hold exactly nPublic elements). Runs on the JS thread:
// a verification takes milliseconds, less than a worker round trip would add
// to a caller awaiting it.
Napi::Value Groth16Verify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsExternal() || !IsBytes(info[1]) || !IsBytes(info[2]) ||
      !info[0].As<Napi::External<zkp::groth16::PreparedKey>>().CheckTypeTag(&kPreparedKeyTag)) {
    return Throw(env, "groth16Verify(key: from groth16PrepareKey, proof: Uint8Array, publicSignals: Uint8Array) expected");
  }
  const zkp::groth16::PreparedKey& key = *info[0].As<Napi::External<zkp::groth16::PreparedKey>>().Data();
  auto proof = Bytes(info[1]);
  auto publics = Bytes(info[2]);
  if (proof.ByteLength() != zkp::groth16::kProofBytes) {
    return Throw(env, "groth16Verify: proof length " + std::to_string(proof.ByteLength()) + " is not " + std::to_string(zkp::groth16::kProofBytes));
  }
  const size_t expected = key.n_public * zkp::groth16::kFieldBytes;
  if (publics.ByteLength() != expected) {
    return Throw(env, "groth16Verify: " + std::to_string(publics.ByteLength()) + " bytes of public signals, the key expects " +
                          std::to_string(key.n_public) + " (" + std::to_string(expected) + " bytes)");
  }
  return Napi::String::New(env, zkp::groth16::verify(key, proof.Data(), publics.Data()));
}

Napi::Value ThreadCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), zkp::thread_count());
}

// The arithmetic paths chosen at load (see field.h and ifma.h).
Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Object features = Napi::Object::New(info.Env());
  features.Set("adx", Napi::Boolean::New(info.Env(), zkp::kCpuHasAdx));
  features.Set("ifma", Napi::Boolean::New(info.Env(), zkp::ifma::kCpuHasIfma));
  return features;
}

// fixedBaseG1(scalars) / fixedBaseG2(scalars): scalars[i] (standard-form Fr) times the generator, affine, one point each.
template <size_t kPointBytes, std::string (*kFixedBase)(const uint8_t*, size_t, uint8_t*)>
Napi::Value FixedBase(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* name = kPointBytes == zkp::kG1AffineBytes ? "fixedBaseG1" : "fixedBaseG2";
  if (info.Length() != 1 || !IsBytes(info[0])) return Throw(env, std::string(name) + "(scalars: Uint8Array) expected");
  auto scalars = Bytes(info[0]);
  if (scalars.ByteLength() % kFrBytes != 0) {
    return Throw(env, std::string(name) + ": scalars length " + std::to_string(scalars.ByteLength()) + " is not a multiple of 32");
  }
  const size_t n = scalars.ByteLength() / kFrBytes;
  auto out = Napi::Uint8Array::New(env, n * kPointBytes);
  const uint8_t* s = scalars.Data();
  uint8_t* o = out.Data();
  return Queue(env, [=]() { return kFixedBase(s, n, o); }, out, {scalars});
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("msmG1", Napi::Function::New(env, Msm<zkp::kG1AffineBytes, zkp::msm_g1>, "msmG1"));
  exports.Set("msmG2", Napi::Function::New(env, Msm<zkp::kG2AffineBytes, zkp::msm_g2>, "msmG2"));
  exports.Set("ntt", Napi::Function::New(env, Ntt, "ntt"));
  exports.Set("cosetShift", Napi::Function::New(env, CosetShift, "cosetShift"));
  exports.Set("computeH", Napi::Function::New(env, ComputeH, "computeH"));
  exports.Set("buildABC", Napi::Function::New(env, BuildAbc, "buildABC"));
  exports.Set("buildH", Napi::Function::New(env, BuildH, "buildH"));
  exports.Set("frBatchInverse", Napi::Function::New(env, FrBatchInverse, "frBatchInverse"));
  exports.Set("groth16PrepareKey", Napi::Function::New(env, Groth16PrepareKey, "groth16PrepareKey"));
  exports.Set("groth16Verify", Napi::Function::New(env, Groth16Verify, "groth16Verify"));
  exports.Set("threadCount", Napi::Function::New(env, ThreadCount, "threadCount"));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeatures, "cpuFeatures"));
  exports.Set("fixedBaseG1", Napi::Function::New(env, FixedBase<zkp::kG1AffineBytes, zkp::fixed_base_g1>, "fixedBaseG1"));
  exports.Set("fixedBaseG2", Napi::Function::New(env, FixedBase<zkp::kG2AffineBytes, zkp::fixed_base_g2>, "fixedBaseG2"));
  zkp::register_memory_functions(env, exports);
  zkp::limit_malloc_retention();
  return exports;
}

}  // namespace

NODE_API_MODULE(zkp_native, Init)
