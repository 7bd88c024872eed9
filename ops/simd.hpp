// Vectorised kernels (xsimd, at the width -march=native gives) for the elementwise maths that
// dominates softmax and cross-entropy. Internal to ops/; xtensor itself is built without xsimd.
#pragma once

#include <cmath>
#include <cstddef>

#include <xsimd/xsimd.hpp>

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

}  // namespace tapegrad::simd
