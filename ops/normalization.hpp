/// \file
/// Normalisation: layer, RMS, group and batch normalisation (torch.nn.functional's layer_norm,
/// rms_norm, group_norm and batch_norm). Each standardises groups of elements, xhat = (x - mean) /
/// sqrt(var + eps) with the biased variance (rms_norm: x / sqrt(mean(x^2) + eps)), then applies the
/// optional per-element or per-channel affine y = xhat w + b. The statistics are taken in two
/// passes on values shifted by the group's first element, summed in double, so inputs around
/// 1e6 with a spread of 1 keep their digits. Weight and bias are optional: pass an undefined
/// Tensor. Below, n is the number of elements a group holds, and mean_n a mean over the group.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Layer normalisation over the trailing dims `normalized_shape` (F.layer_norm): every slice
/// x[i, ...] of those dims is standardised with its own mean and biased variance, then y = xhat w
/// + b, w and b of shape normalized_shape (either may be undefined). ShapeError naming layer_norm,
/// the argument and the shapes when normalized_shape is not x's trailing dims, or w or b is not of
/// shape normalized_shape; ValueError for eps < 0 or NaN.
///   d/dx = rstd (g' - mean_n(g') - xhat mean_n(g' xhat)), g' = g w, rstd = 1/sqrt(var + eps)
///   d/dw = sum over the leading dims of g xhat      d/db = sum over the leading dims of g
///   tangent: dy = dxhat w + xhat dw + db, dxhat = rstd (dx - mean_n(dx) - xhat mean_n(dx xhat))
template <class T>
Tensor<T> layer_norm(const Tensor<T>& x, const std::vector<std::int64_t>& normalized_shape,
                     const Tensor<T>& weight = {}, const Tensor<T>& bias = {}, double eps = 1e-5);

/// Root-mean-square normalisation over the trailing dims `normalized_shape` (F.rms_norm, PyTorch
/// 2.4+): y = x / sqrt(mean_n(x^2) + eps) w, w of shape normalized_shape or undefined. eps nullopt
/// is the machine epsilon of T (PyTorch's eps=None: torch.finfo(x.dtype).eps). Errors as layer_norm.
///   d/dx = r (g' - xhat mean_n(g' xhat)), g' = g w, r = 1/sqrt(mean_n(x^2) + eps), xhat = x r
///   d/dw = sum over the leading dims of g xhat
///   tangent: dy = dxhat w + xhat dw, dxhat = r (dx - xhat mean_n(dx xhat))
template <class T>
Tensor<T> rms_norm(const Tensor<T>& x, const std::vector<std::int64_t>& normalized_shape, const Tensor<T>& weight = {},
                   std::optional<double> eps = std::nullopt);

/// Group normalisation of x [N, C, *] (F.group_norm): the C channels split into num_groups groups
/// of C / num_groups consecutive channels, each sample's group (its channels and every spatial
/// element) standardised on its own, then y = xhat w[c] + b[c], w and b of shape [C] or undefined.
/// ShapeError for x of rank < 2 or w or b not of shape [C]; ValueError when num_groups is not
/// positive or does not divide C, or for eps < 0.
///   d/dx = rstd (g' - mean_n(g') - xhat mean_n(g' xhat)) per group, g' = g w[c]
///   d/dw[c] = sum over N and * of g xhat      d/db[c] = sum over N and * of g
///   tangent: dy = dxhat w[c] + xhat dw[c] + db[c], dxhat = rstd (dx - mean_n(dx) - xhat mean_n(dx xhat))
///            per group
template <class T>
Tensor<T> group_norm(const Tensor<T>& x, std::int64_t num_groups, const Tensor<T>& weight = {},
                     const Tensor<T>& bias = {}, double eps = 1e-5);

/// Batch normalisation of x [N, C, *] (F.batch_norm), per channel c over N and every spatial
/// element. training: xhat from the batch's mean and biased variance; when running_mean and
/// running_var are given (both or neither, shape [C]), they are updated in place, without
/// recording, as running = (1 - momentum) running + momentum batch, with the batch's unbiased
/// variance (PyTorch's). Eval (training false): xhat = (x - running_mean) / sqrt(running_var + eps),
/// which then must be given. Then y = xhat w[c] + b[c]. ShapeError for x of rank < 2 or a weight,
/// bias or running statistic not of shape [C]; ValueError when training with one value per channel
/// (PyTorch's "Expected more than 1 value per channel when training"), when evaluating without
/// running statistics, or for eps < 0. A training batch with no elements gives an empty y and leaves
/// the running statistics as they are. In training the running statistics are not differentiated
/// (they are only updated); in evaluation they normalise x and the gradient reaches them too.
///   training: d/dx = rstd (g' - mean_n(g') - xhat mean_n(g' xhat)) per channel, g' = g w[c]
///   eval:     d/dx = g w[c] / sqrt(running_var[c] + eps)
///   d/dw[c] = sum over N and * of g xhat      d/db[c] = sum over N and * of g
///   tangent: dy = dxhat w[c] + xhat dw[c] + db[c]; training: dxhat = rstd (dx - mean_n(dx) -
///            xhat mean_n(dx xhat)) per channel (the running statistics have no tangent); eval:
///            dxhat = (dx - drunning_mean) rstd - xhat rstd^2 drunning_var / 2, rstd = 1/sqrt(running_var + eps)
template <class T>
Tensor<T> batch_norm(const Tensor<T>& x, const Tensor<T>& running_mean, const Tensor<T>& running_var,
                     const Tensor<T>& weight = {}, const Tensor<T>& bias = {}, bool training = false,
                     double momentum = 0.1, double eps = 1e-5);

}  // namespace tapegrad
