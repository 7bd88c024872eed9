/// \file
/// Pooling ops on NCHW (and NCL) tensors, as torch.nn.functional: max_pool2d, max_pool1d,
/// avg_pool2d, avg_pool1d and adaptive_avg_pool2d. A 2-d pool takes x of shape [N, C, H, W] or,
/// unbatched, [C, H, W]; a 1-d pool [N, C, L] or [C, L]. The output keeps x's leading dims.
///
/// Output size along a dim of input size `in` (PyTorch's pooling_output_shape):
/// out = floor((in + 2 padding - dilation (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0)) / stride) + 1,
/// and with ceil_mode the last window must start inside the input or the left padding (else out - 1).
///
/// Errors (each naming the op, the argument and the shapes; nothing passed in is changed): a kernel,
/// stride or dilation below 1, a negative padding or a padding above kernel / 2 (ValueError); x of
/// the wrong number of dims, a zero channel or spatial size, or a (dilated) kernel larger than the
/// padded input, so that the output would be empty (ShapeError); an adaptive output size below 1
/// and a divisor_override of 0 (ValueError).
///
/// Every backward is written in tapegrad's ops: max pooling's is a scatter_add of g at the saved
/// argmax (its own derivative the matching gather), average pooling's an internal spreading op whose
/// derivative is the average pooling itself, so gradients of every order work.
#pragma once

#include <cstdint>
#include <optional>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/ops/size2.hpp>

namespace tapegrad {

/// The maximum of each (dilated) kernel window of x [N, C, H, W] or [C, H, W]
/// (torch.nn.functional.max_pool2d). stride defaults to the kernel size, as PyTorch's; padded
/// positions count as -inf, so they are never chosen. The window's maximum is its first largest
/// element in row-major window order; a NaN in the window wins (the last NaN, as PyTorch's CPU kernel).
///   d/dx = g added at each window's argmax (scatter_add over the flattened H W dims); an element
///          that is the argmax of several windows gets the sum of their gradients
///   tangent: dy = dx at each window's argmax (the element the gradient goes to)
template <class T>
Tensor<T> max_pool2d(const Tensor<T>& x, Size2 kernel_size, std::optional<Size2> stride = std::nullopt,
                     Size2 padding = 0, Size2 dilation = 1, bool ceil_mode = false);

/// max_pool2d along the last dim of x [N, C, L] or [C, L] (torch.nn.functional.max_pool1d).
///   d/dx = g added at each window's argmax      tangent: dy = dx at each window's argmax
template <class T>
Tensor<T> max_pool1d(const Tensor<T>& x, std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                     std::int64_t padding = 0, std::int64_t dilation = 1, bool ceil_mode = false);

/// The mean of each kernel window of x [N, C, H, W] or [C, H, W] (torch.nn.functional.avg_pool2d).
/// stride defaults to the kernel size. The divisor is divisor_override when given (not 0), else the
/// window's size counting the zero padding (count_include_pad, PyTorch's default; a window that
/// runs past the right padding under ceil_mode is cut there) or counting only x's elements.
///   d/dx = g / divisor spread uniformly over each window's elements of x
///   tangent: dy = avg_pool2d(dx) (the same arguments)
template <class T>
Tensor<T> avg_pool2d(const Tensor<T>& x, Size2 kernel_size, std::optional<Size2> stride = std::nullopt,
                     Size2 padding = 0, bool ceil_mode = false, bool count_include_pad = true,
                     std::optional<std::int64_t> divisor_override = std::nullopt);

/// avg_pool2d along the last dim of x [N, C, L] or [C, L] (torch.nn.functional.avg_pool1d, which
/// has no divisor_override).
///   d/dx = g / divisor spread uniformly over each window's elements of x
///   tangent: dy = avg_pool1d(dx) (the same arguments)
template <class T>
Tensor<T> avg_pool1d(const Tensor<T>& x, std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                     std::int64_t padding = 0, bool ceil_mode = false, bool count_include_pad = true);

/// The mean over output_size windows of x [N, C, H, W] or [C, H, W]
/// (torch.nn.functional.adaptive_avg_pool2d): output position i along a dim of input size `in` and
/// output size `out` averages [floor(i in / out), ceil((i + 1) in / out)), so windows may overlap
/// when out does not divide in. Differs from PyTorch: no None entry (keep the input's size).
///   d/dx = g / window size spread uniformly over each window
///   tangent: dy = adaptive_avg_pool2d(dx, output_size)
template <class T>
Tensor<T> adaptive_avg_pool2d(const Tensor<T>& x, Size2 output_size);

}  // namespace tapegrad
