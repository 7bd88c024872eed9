/// \file
/// Convolutions (torch.nn.functional.conv1d, conv2d, conv_transpose2d) on NCL / NCHW tensors with
/// PyTorch's weight layouts, run as im2col + OpenBLAS GEMM (col2im for the transposed one), or, for
/// groups of one input channel (depthwise), one pass per output plane over the kernel's taps; the
/// samples (or planes) are split across tapegrad's threads (set_num_threads). Their backward rules are again
/// convolutions: conv2d, conv_transpose2d and detail::conv2d_weight differentiate into one another, so gradients of
/// every order work.
#pragma once

#include <cstdint>
#include <optional>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/ops/size2.hpp>

namespace tapegrad {

/// PyTorch's string paddings of the convolutions: 'valid' (no padding) and 'same' (the output has
/// the input's size; stride 1 only, as in PyTorch; an odd total padding puts the extra element on
/// the right/bottom, as PyTorch does).
enum class Padding {
    Valid,  ///< no padding ('valid')
    Same,   ///< the output has the input's size ('same')
};

/// The padding of conv2d: an int, {h, w} (zeros added on both sides of each dim), or
/// Padding::Same / Padding::Valid.
struct ConvPadding2d {
    /// The same padding on every side.
    ConvPadding2d(std::int64_t both) : size(both) {}  // NOLINT(google-explicit-constructor)
    /// Height and width padding.
    ConvPadding2d(std::int64_t height, std::int64_t width) : size(height, width) {}
    /// 'same' or 'valid'.
    ConvPadding2d(Padding m) : size(0), mode(m) {}  // NOLINT(google-explicit-constructor)
    /// The explicit padding (ignored when mode is set).
    Size2 size;
    /// Set for 'same' / 'valid'.
    std::optional<Padding> mode;
};

/// The padding of conv1d: an int or Padding::Same / Padding::Valid.
struct ConvPadding1d {
    /// Zeros added on both ends.
    ConvPadding1d(std::int64_t both) : size(both) {}  // NOLINT(google-explicit-constructor)
    /// 'same' or 'valid'.
    ConvPadding1d(Padding m) : size(0), mode(m) {}  // NOLINT(google-explicit-constructor)
    /// The explicit padding (ignored when mode is set).
    std::int64_t size;
    /// Set for 'same' / 'valid'.
    std::optional<Padding> mode;
};

/// 2-D cross-correlation (torch.nn.functional.conv2d): x [N, C, H, W] (or unbatched [C, H, W]),
/// weight [O, C/groups, kH, kW], bias [O] (optional: an undefined tensor), giving [N, O, Ho, Wo]
/// with Ho = (H + 2 pH - dH (kH - 1) - 1) / sH + 1 (and Wo alike):
///   y[n, o, i, j] = b[o] + Σ_{c, p, q} w[o, c, p, q] x[n, g C/groups + c, i sH - pH + p dH, j sW - pW + q dW]
/// (g = o / (O/groups), x read as 0 outside the input). Each sample and group is one GEMM over
/// im2col's columns (a 1x1, stride-1, unpadded convolution reads x directly; groups of one input
/// channel loop over the taps instead). Derivatives:
///   d/dx = conv_transpose2d(grad, w, stride, padding, output_padding so that it has x's shape, groups, dilation)
///   d/dw = detail::conv2d_weight(x, grad, w.shape, ...) (the correlation of x with grad)
///   d/db = grad summed over N, Ho, Wo
///   tangent: dy = conv2d(dx, w) + conv2d(x, dw) + db per channel (the same arguments)
/// ShapeError naming the op, the argument and the shapes for an x that is not 3-D or 4-D, a zero
/// size in a dim of x but N or in weight, a weight that is not 4-D, channels of x not equal to
/// weight.shape[1] * groups, O not divisible by groups, a bias not of shape [O], or a (dilated)
/// kernel larger than the padded input; ValueError for stride, dilation or groups <= 0, a negative
/// padding, or Padding::Same with a stride above 1.
template <class T>
Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = {}, Size2 stride = 1,
                 ConvPadding2d padding = 0, Size2 dilation = 1, std::int64_t groups = 1);

/// 1-D cross-correlation (torch.nn.functional.conv1d): x [N, C, L] (or unbatched [C, L]), weight
/// [O, C/groups, k], bias [O] (optional), giving [N, O, Lo], Lo = (L + 2 p - d (k - 1) - 1) / s + 1.
/// Composed as conv2d over a unit height (reshapes in and out), so its derivatives are conv2d's:
///   d/dx = conv_transpose1d(grad, w)      d/dw = correlation of x with grad      d/db = Σ_{N, Lo} grad
///   tangent: dy = conv1d(dx, w) + conv1d(x, dw) + db per channel
/// Throws as conv2d does, naming conv1d and the 3-D / 2-D shapes.
template <class T>
Tensor<T> conv1d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = {}, std::int64_t stride = 1,
                 ConvPadding1d padding = 0, std::int64_t dilation = 1, std::int64_t groups = 1);

/// 2-D transposed convolution (torch.nn.functional.conv_transpose2d), the adjoint of conv2d in x:
/// x [N, Cin, H, W] (or unbatched), weight [Cin, Cout/groups, kH, kW], bias [Cout] (optional),
/// giving [N, Cout, Ho, Wo], Ho = (H - 1) sH - 2 pH + dH (kH - 1) + opH + 1 (Wo alike):
///   y[n, g Cout/groups + c, i' sH - pH + p dH, ...] += w[ci, c, p, q] x[n, ci, i', j']   (ci in group g)
/// Each sample and group is one GEMM (wᵀ x) and a col2im (groups of one output channel: taps).
/// Derivatives:
///   d/dx = conv2d(grad, w, stride, padding, dilation, groups)
///   d/dw = detail::conv2d_weight(grad, x, w.shape, ...)
///   d/db = grad summed over N, Ho, Wo
///   tangent: dy = conv_transpose2d(dx, w) + conv_transpose2d(x, dw) + db per channel
/// ShapeError as conv2d (channels of x not equal to weight.shape[0], Cin not divisible by groups,
/// a bias not of shape [Cout]) and for an output size <= 0; ValueError for stride, dilation or
/// groups <= 0, a negative padding or output_padding, or an output_padding not smaller than either
/// the stride or the dilation (PyTorch's rule).
template <class T>
Tensor<T> conv_transpose2d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = {}, Size2 stride = 1,
                           Size2 padding = 0, Size2 output_padding = 0, std::int64_t groups = 1, Size2 dilation = 1);

namespace detail {

/// Internal: the weight gradient of conv2d, the correlation of x [N, C, H, W] with an output
/// gradient gy [N, O, Ho, Wo] (Ho, Wo at most conv2d's output size; output positions past them
/// take no part), with padding {pH, pW} on both sides:
///   dw[o, c, p, q] = Σ_{n, i, j} gy[n, o, i, j] x[n, g C/groups + c, i sH - pH + p dH, j sW - pW + q dW]
/// of shape weight_shape [O, C/groups, kH, kW] (one GEMM per sample and group, summed; groups of one
/// input channel: dot products per tap). Bilinear in
/// (x, gy); for an incoming gradient G of weight_shape:
///   d/dx = conv_transpose2d(gy, G, ...) (x's shape)      d/dgy = conv2d(x, G, ...) (gy's shape)
///   tangent: dw = conv2d_weight(dx, gy) + conv2d_weight(x, dgy)
/// Arguments are not checked (its callers have).
template <class T>
Tensor<T> conv2d_weight(const Tensor<T>& x, const Tensor<T>& gy, const Shape& weight_shape, Size2 stride, Size2 padding,
                        Size2 dilation, std::int64_t groups);

}  // namespace detail

}  // namespace tapegrad
