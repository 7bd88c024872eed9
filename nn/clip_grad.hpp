/// \file
/// Gradient clipping (torch.nn.utils.clip_grad_norm_).
#pragma once

#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::nn {

/// Total L2 norm of all the parameters' gradients taken together, sqrt(sum_p sum g^2);
/// parameters without a gradient are skipped.
template <class T>
double grad_norm(const std::vector<Tensor<T>>& params);

/// Scales every gradient in place by max_norm / (total + 1e-6) when that is below 1, so the
/// total norm becomes (just under) max_norm; returns the total norm before clipping (as
/// PyTorch). max_norm must be >= 0 (ValueError otherwise). A non-finite total is returned and
/// the gradients are left as they are, for the caller to notice.
template <class T>
double clip_grad_norm(const std::vector<Tensor<T>>& params, double max_norm);

}  // namespace tapegrad::nn
