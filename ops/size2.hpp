/// \file
/// Size2: the `int or (h, w) tuple` of PyTorch's 2-d convolutions and pools (kernel sizes, strides,
/// paddings, dilations, output sizes). One struct shared by ops/convolution.hpp and ops/pooling.hpp.
#pragma once

#include <cstdint>

namespace tapegrad {

/// A kernel size, stride, padding, dilation or output size of a 2-d convolution or pool: one int for
/// both dims (`2`) or {h, w} (`Size2{3, 2}`), as PyTorch's `int or tuple`.
struct Size2 {
    /// The same value for height and width.
    Size2(std::int64_t both) : h(both), w(both) {}  // NOLINT(google-explicit-constructor): an int is a size
    /// Height and width.
    Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
    /// Along the height (dim -2).
    std::int64_t h;
    /// Along the width (dim -1).
    std::int64_t w;
};

}  // namespace tapegrad
