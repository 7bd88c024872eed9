// Vectorised kernels (xsimd, at the width -march=native gives) for the elementwise maths that
// dominates softmax and cross-entropy, and the accurate row sums of statistics and normalization. Internal to ops/;
// xtensor itself is built without xsimd.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace tapegrad::simd {

/// out[i] = e^(in[i] - shift) for i < n; in and out may be the same array.
template <class T>
void exp_shifted(const T* in, T shift, T* out, std::size_t n) {
    using Batch = xsimd::batch<T>;
    constexpr std::size_t width = Batch::size;
    const Batch s(shift);
    std::size_t i = 0;
    for (; i + width <= n; i += width) xsimd::exp(Batch::load_unaligned(in + i) - s).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = std::exp(in[i] - shift);
}

/// out[i] = f(in[i]) for i < n, f taking both xsimd batches and single elements; in and out may be
/// the same array.
template <class T, class F>
void transform(const T* in, T* out, std::size_t n, F f) {
    using Batch = xsimd::batch<T>;
    constexpr std::size_t width = Batch::size;
    std::size_t i = 0;
    for (; i + width <= n; i += width) f(Batch::load_unaligned(in + i)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = f(in[i]);
}

/// The largest of x[0..n), -inf for n = 0. A NaN may or may not win; callers whose result turns
/// NaN anyway once a NaN is in the row (softmax) need not care which.
template <class T>
T max_of(const T* x, std::size_t n) {
    using Batch = xsimd::batch<T>;
    constexpr std::size_t width = Batch::size;
    T m = -std::numeric_limits<T>::infinity();
    std::size_t i = 0;
    if (n >= width) {
        Batch acc = Batch::load_unaligned(x);
        for (i = width; i + width <= n; i += width) acc = xsimd::max(acc, Batch::load_unaligned(x + i));
        alignas(Batch::arch_type::alignment()) T lanes[width];
        acc.store_aligned(lanes);
        for (const T lane : lanes) m = std::max(m, lane);
    }
    for (; i < n; ++i) m = std::max(m, x[i]);
    return m;
}

/// Sum over i < n of f(x[i]), f taking both xsimd batches and single elements. Each lane adds at
/// most 16 terms in T before they are added in double, so a float32 row keeps near float64 accuracy.
template <class T, class F>
double fold_sum(const T* x, std::size_t n, F f) {
    using Batch = xsimd::batch<T>;
    constexpr std::size_t width = Batch::size, step = 4 * width, block = 16 * step;
    double total = 0;
    std::size_t i = 0;
    while (i + step <= n) {
        Batch a0(T(0)), a1(T(0)), a2(T(0)), a3(T(0));
        const std::size_t end = i + std::min(block, (n - i) / step * step);
        for (; i < end; i += step) {
            a0 += f(Batch::load_unaligned(x + i));
            a1 += f(Batch::load_unaligned(x + i + width));
            a2 += f(Batch::load_unaligned(x + i + 2 * width));
            a3 += f(Batch::load_unaligned(x + i + 3 * width));
        }
        total += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
    }
    for (; i < n; ++i) total += static_cast<double>(f(x[i]));
    return total;
}

/// The same over two arrays: sum over i < n of f(x[i], y[i]) (normalisation's backward: sum g xhat).
template <class T, class F>
double fold_sum(const T* x, const T* y, std::size_t n, F f) {
    using Batch = xsimd::batch<T>;
    constexpr std::size_t width = Batch::size, step = 2 * width, block = 16 * step;
    double total = 0;
    std::size_t i = 0;
    while (i + step <= n) {
        Batch a0(T(0)), a1(T(0));
        const std::size_t end = i + std::min(block, (n - i) / step * step);
        for (; i < end; i += step) {
            a0 += f(Batch::load_unaligned(x + i), Batch::load_unaligned(y + i));
            a1 += f(Batch::load_unaligned(x + i + width), Batch::load_unaligned(y + i + width));
        }
        total += static_cast<double>(xsimd::hadd(a0 + a1));
    }
    for (; i < n; ++i) total += static_cast<double>(f(x[i], y[i]));
    return total;
}

/// Stores v at p (aligned to the batch's size) with a non-temporal store where the target has one
/// (x86's movntps/movntpd): the line goes to memory without being read first, which halves the
/// memory traffic of writing an array much larger than the caches (a normal store reads each line
/// before writing it). The stores are weakly ordered: the writing thread ends with stream_fence().
template <class T, class A>
void stream_store(T* p, const xsimd::batch<T, A>& v) {
    constexpr bool is_float = std::is_same_v<T, float>;
#if defined(__AVX512F__)
    if constexpr (sizeof(v) == 64) {
        if constexpr (is_float)
            _mm512_stream_ps(p, v);
        else
            _mm512_stream_pd(p, v);
        return;
    }
#endif
#if defined(__AVX__)
    if constexpr (sizeof(v) == 32) {
        if constexpr (is_float)
            _mm256_stream_ps(p, v);
        else
            _mm256_stream_pd(p, v);
        return;
    }
#endif
#if defined(__SSE2__)
    if constexpr (sizeof(v) == 16) {
        if constexpr (is_float)
            _mm_stream_ps(p, v);
        else
            _mm_stream_pd(p, v);
        return;
    }
#endif
    v.store_aligned(p);
}

/// Orders this thread's earlier non-temporal stores before its later stores (x86's sfence), so that
/// a thread that joins or synchronises with this one sees them.
inline void stream_fence() {
#if defined(__SSE2__)
    _mm_sfence();
#endif
}

/// out[i] = s * x[i] for i < n, out written with stream_store (the elements before out's first
/// aligned address and after its last whole batch with plain stores). Call stream_fence() after
/// the last such call of a thread.
template <class T>
void scale_streaming(const T* x, T s, T* out, std::size_t n) {
    using Batch = xsimd::batch<T>;
    constexpr std::size_t width = Batch::size;
    std::size_t i = 0;
    for (; i < n && reinterpret_cast<std::uintptr_t>(out + i) % sizeof(Batch) != 0; ++i) out[i] = s * x[i];
    const Batch scale(s);
    for (; i + width <= n; i += width) stream_store(out + i, scale * Batch::load_unaligned(x + i));
    for (; i < n; ++i) out[i] = s * x[i];
}

}  // namespace tapegrad::simd
