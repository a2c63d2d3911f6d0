// Bucket accumulation for one Pippenger (window, chunk) task: sums the points
// of each bucket, then reduces sum_b (b + 1) * bucket[b] with a running sum.
//
// Two strategies with one result:
// - accumulate_xyzz: every bucket an XYZZ point, each addition a mixed
//   addition (8M + 2S). Used for small windows.
// - accumulate_batch_affine: buckets stay affine; additions are queued in a
//   batch (at most one per bucket) and finished together with one shared
//   inversion (Montgomery's trick), about 6M per addition. A point whose bucket
//   already waits in the batch is deferred to the next batch; past a bounded
//   number of deferrals it goes to an XYZZ overflow bucket, so degenerate
//   inputs (one bucket hit by every point) stay linear. A point with the
//   bucket's x (a doubling or a cancellation) also goes to the overflow
//   bucket, so a batch never divides by zero.
//   On CPUs with AVX-512 IFMA the batch runs eight lanes at a time
//   (batch_add_ifma.h) on a structure-of-arrays copy of the queued pairs.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <type_traits>
#include <vector>

#include "batch_add_ifma.h"
#include "reduce_ifma.h"
#include "curve.h"

namespace zkp {

// The digits of one window for the task's points: digit j belongs to
// bases[point_index[j]] (bases[j] when point_index is null); digit d != 0
// adds sign(d) * base to bucket |d| - 1.
template <class F, class D = int32_t>
struct BucketTask {
  const Affine<F>* bases;
  const uint32_t* point_index;
  const D* digits;  // int16_t when c <= 15 (half the memory), else int32_t
  size_t begin, end;
  size_t buckets;

  const Affine<F>& point(size_t j) const { return bases[point_index ? point_index[j] : j]; }
};

template <class F, class D>
Xyzz<F> accumulate_xyzz(const BucketTask<F, D>& t) {
  using Acc = Xyzz<F>;
  std::vector<Acc> bucket(t.buckets, Acc::infinity());
  constexpr size_t kAhead = 4;
  for (size_t j = t.begin; j < t.end; ++j) {
    if (j + kAhead < t.end) {
      const int32_t da = t.digits[j + kAhead];
      if (da != 0) {
        __builtin_prefetch(&bucket[(size_t)(da > 0 ? da : -da) - 1], 1);
        __builtin_prefetch(&t.point(j + kAhead), 0);
      }
    }
    const int32_t d = t.digits[j];
    if (d == 0) continue;
    const Affine<F>& p = t.point(j);
    if (d > 0) bucket[(size_t)d - 1].add_affine(p);
    else bucket[(size_t)(-d) - 1].add_affine(p.neg());
  }
  Acc running = Acc::infinity(), sum = Acc::infinity();
  for (size_t b = t.buckets; b-- > 0;) {
    running.add(bucket[b]);
    sum.add(running);
  }
  return sum;
}

template <class F>
class BatchAffineBuckets {
 public:
  using Point = Affine<F>;
  using Acc = Xyzz<F>;

  // Points are named by their index in `bases` and a sign; a deferred point
  // is kept as that pair, never as a copy (a G2 point is 128 bytes).
  BatchAffineBuckets(size_t buckets, const Point* bases)
      : bases_(bases), bucket_(buckets), state_(buckets, kEmpty), capacity_(batch_capacity(buckets)), slot_bucket_(capacity_) {
    if (vector_) {
      // Rounded up to whole 8-lane groups: the kernel pads the last group.
      stride_ = (capacity_ + ifma::kLanes - 1) / ifma::kLanes * ifma::kLanes;
      for (auto* coordinate : {&ax_, &ay_, &px_, &py_}) coordinate->assign(kWords * stride_, 0);
      scratch_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, round_up_64(ifma::batch_add_scratch_bytes<F>(stride_)))));
      if (!scratch_) throw std::bad_alloc();
    } else {
      slot_point_.resize(capacity_);
      denominator_.resize(capacity_);
      prefix_.resize(capacity_);
    }
  }

  // Largest batch worth running: big enough to amortise the inversion, small
  // enough that a point rarely finds its bucket already queued. Half the
  // buckets (up to 2048) cost 2% fewer instructions than a quarter (up to
  // 1024) at 2^16 G1 points: half the inversions outweigh the deferrals.
  // G2 caps at 1024: at 2^16 points (4096 buckets, c = 13) 1024 took about
  // 10% less CPU time than 2048 (768 and 1024 within noise, 512 slower).
  static size_t batch_capacity(size_t buckets) {
    constexpr size_t kMax = std::is_same_v<F, Fq2> ? 1024 : 2048;
    return std::max<size_t>(4, std::min<size_t>(kMax, buckets / 2));
  }

  void prefetch(uint32_t b) const {
    __builtin_prefetch(&state_[b], 0);
    __builtin_prefetch(&bucket_[b], 0);
  }

  // bucket[b] += (negate ? -1 : 1) * bases[point], now or in a later batch.
  void add(uint32_t b, uint32_t point, bool negate) {
    place(b, point, negate);
    if (queued_ == capacity_) {
      run_batch();
      retry_deferred();
    }
  }

  // sum_b (b + 1) * bucket[b], after finishing every pending addition.
  Acc reduce() {
    while (queued_ > 0 || !deferred_.empty()) {
      run_batch();
      retry_deferred();
    }
    if constexpr (kVectorizable) {
      // Eight segments in vector lanes; with overflow buckets (degenerate
      // inputs) or few buckets the scalar loop below is simpler and as fast.
      if (vector_ && overflow_.empty() && bucket_.size() >= 64) {
        return ifma::reduce_buckets<F>(bucket_.data(), state_.data(), kFull, bucket_.size());
      }
    }
    Acc running = Acc::infinity(), sum = Acc::infinity();
    for (size_t b = bucket_.size(); b-- > 0;) {
      if (state_[b] == kFull) running.add_affine(bucket_[b]);
      if (!overflow_.empty()) running.add(overflow_[b]);
      sum.add(running);
    }
    return sum;
  }

 private:
  struct Pending {
    uint32_t bucket;
    uint32_t point;
    bool negate;
  };

  Point signed_point(uint32_t point, bool negate) const { return negate ? bases_[point].neg() : bases_[point]; }

  // Stores p into an empty bucket, queues it, or (bucket already queued, or
  // queue full) defers it to the next batch; past the deferral limit it goes
  // to the XYZZ overflow bucket, which keeps degenerate inputs linear.
  void place(uint32_t b, uint32_t point, bool negate) {
    uint8_t& s = state_[b];
    if (s == kEmpty) {
      bucket_[b] = signed_point(point, negate);
      s = kFull;
      return;
    }
    if (s == kQueued || queued_ == capacity_) {
      if (deferred_.size() < capacity_) {
        deferred_.push_back(Pending{b, point, negate});
        return;
      }
      to_overflow(b, signed_point(point, negate));
      return;
    }
    const Point p = signed_point(point, negate);
    if (bucket_[b].x == p.x) {
      // p = +-bucket: the affine formula would divide by zero.
      to_overflow(b, p);
      return;
    }
    s = kQueued;
    slot_bucket_[queued_] = b;
    if (vector_) {
      const Point& a = bucket_[b];
      ifma::lane_set<F>(ax_.data(), stride_, queued_, a.x);
      ifma::lane_set<F>(ay_.data(), stride_, queued_, a.y);
      ifma::lane_set<F>(px_.data(), stride_, queued_, p.x);
      ifma::lane_set<F>(py_.data(), stride_, queued_, p.y);
    } else {
      slot_point_[queued_] = p;
    }
    ++queued_;
  }

  void to_overflow(uint32_t b, const Point& p) {
    if (overflow_.empty()) overflow_.assign(bucket_.size(), Acc::infinity());
    overflow_[b].add_affine(p);
  }

  void retry_deferred() {
    retry_.swap(deferred_);
    for (const Pending& e : retry_) place(e.bucket, e.point, e.negate);
    retry_.clear();
  }

  // Finishes every queued addition: bucket[b] += p with one inversion for all.
  // No queued pair shares its x (place() sends those to the overflow).
  void run_batch() {
    if (queued_ == 0) return;
    if (vector_) {
      run_batch_vector();
      return;
    }
    F acc = F::one();
    for (size_t i = 0; i < queued_; ++i) {
      const F d = slot_point_[i].x - bucket_[slot_bucket_[i]].x;
      denominator_[i] = d;
      prefix_[i] = acc;  // product of the denominators before i
      acc = acc * d;
    }
    F inv = acc.inv();
    for (size_t i = queued_; i-- > 0;) {
      const F inv_d = inv * prefix_[i];
      inv = inv * denominator_[i];
      const uint32_t b = slot_bucket_[i];
      Point& a = bucket_[b];
      const Point& p = slot_point_[i];
      const F lambda = (p.y - a.y) * inv_d;
      const F x3 = lambda.sqr() - a.x - p.x;
      a.y = lambda * (a.x - x3) - a.y;
      a.x = x3;
      state_[b] = kFull;
    }
    queued_ = 0;
  }

  void run_batch_vector() {
    if constexpr (kVectorizable) {
      ifma::batch_add<F>(ax_.data(), ay_.data(), px_.data(), py_.data(), stride_, queued_, scratch_.get());
      for (size_t i = 0; i < queued_; ++i) {
        const uint32_t b = slot_bucket_[i];
        bucket_[b].x = ifma::lane_get<F>(ax_.data(), stride_, i);
        bucket_[b].y = ifma::lane_get<F>(ay_.data(), stride_, i);
        state_[b] = kFull;
      }
      queued_ = 0;
    }
  }

  static size_t round_up_64(size_t bytes) { return (bytes + 63) / 64 * 64; }
  struct FreeDeleter {
    void operator()(uint8_t* p) const { std::free(p); }
  };

  static constexpr uint8_t kEmpty = 0, kFull = 1, kQueued = 2;
  static constexpr bool kVectorizable = std::is_same_v<F, Fq> || std::is_same_v<F, Fq2>;
  static constexpr size_t kWords = sizeof(F) / sizeof(u64);

  const Point* bases_;
  std::vector<Point> bucket_;
  std::vector<uint8_t> state_;
  std::vector<Acc> overflow_;  // allocated on the first collision
  size_t capacity_;
  size_t queued_ = 0;
  std::vector<uint32_t> slot_bucket_;
  // Scalar path: the queued points and the batch's products.
  std::vector<Point> slot_point_;
  std::vector<F> denominator_, prefix_;
  // Vector path: the queued pairs as word arrays (batch_add_ifma.h layout).
  const bool vector_ = kVectorizable && ifma::kCpuHasIfma;
  size_t stride_ = 0;
  std::vector<u64> ax_, ay_, px_, py_;
  std::unique_ptr<uint8_t, FreeDeleter> scratch_;
  std::vector<Pending> deferred_, retry_;
};

template <class F, class D>
Xyzz<F> accumulate_batch_affine(const BucketTask<F, D>& t) {
  BatchAffineBuckets<F> buckets(t.buckets, t.bases);
  constexpr size_t kAhead = 16;
  for (size_t j = t.begin; j < t.end; ++j) {
    if (j + kAhead < t.end) {
      const int32_t da = t.digits[j + kAhead];
      if (da != 0) {
        buckets.prefetch((uint32_t)(da > 0 ? da : -da) - 1);
        __builtin_prefetch(&t.point(j + kAhead), 0);
      }
    }
    const int32_t d = t.digits[j];
    if (d == 0) continue;
    const uint32_t point = t.point_index ? t.point_index[j] : (uint32_t)j;
    if (d > 0) buckets.add((uint32_t)d - 1, point, false);
    else buckets.add((uint32_t)(-d) - 1, point, true);
  }
  return buckets.reduce();
}

}  // namespace zkp
