// Element conversions shared by the readers that turn a file's dtype into float or double
// (safetensors.cpp, npy.cpp). Internal to data/*.cpp.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace tapegrad::data::detail {

/// IEEE binary16 -> binary32, exact (subnormals, infinities and NaNs included).
inline float half_to_float(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    const std::uint32_t exponent = (h >> 10) & 0x1fu;
    const std::uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0) {
        const float v = std::ldexp(static_cast<float>(mantissa), -24);
        return sign ? -v : v;
    }
    const std::uint32_t bits =
        exponent == 31 ? sign | 0x7f800000u | (mantissa << 13) : sign | ((exponent + 112) << 23) | (mantissa << 13);
    return std::bit_cast<float>(bits);
}

/// bfloat16 is the upper half of a binary32.
inline float bfloat_to_float(std::uint16_t b) {
    return std::bit_cast<float>(std::uint32_t(b) << 16);
}

/// Whether the integer `v` is exactly a T: its magnitude is at most 2^24 (float) or 2^53 (double).
/// Larger integers are refused by the readers rather than rounded, since a count or an index would
/// silently change.
template <class T, class I>
bool exactly_representable(I v) {
    constexpr std::uint64_t exact_limit = std::uint64_t{1} << std::numeric_limits<T>::digits;
    std::uint64_t magnitude = std::uint64_t(v);
    if constexpr (std::is_signed_v<I>) {
        if (v < 0) magnitude = std::uint64_t(0) - std::uint64_t(v);
    }
    return magnitude <= exact_limit;
}

}  // namespace tapegrad::data::detail
