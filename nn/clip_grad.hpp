/// \file
/// Gradient clipping (torch.nn.utils.clip_grad_norm_ and clip_grad_value_).
#pragma once

#include <limits>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::nn {

/// The p-norm of all the parameters' gradients taken together, (sum_p sum |g|^p)^(1/p), or
/// max |g| for norm_type = inf; parameters without a gradient are skipped (0 when none has one).
/// Computed in double, scaled by the largest |g| so that no power overflows or underflows;
/// any NaN element gives NaN, any infinite one inf. ValueError for a norm_type that is not > 0.
template <class T>
double grad_norm(const std::vector<Tensor<T>>& params, double norm_type = 2);

/// torch.nn.utils.clip_grad_norm_: with total = grad_norm(params, norm_type), scales every
/// gradient in place by coef = max_norm / (total + 1e-6) when coef < 1, so that the total norm
/// becomes (just under) max_norm, and returns total (before clipping).
/// A non-finite total: with error_if_nonfinite (PyTorch 2.x's default false) a ValueError naming it,
/// changing nothing (PyTorch raises RuntimeError); without, as PyTorch, the gradients are scaled by
/// the coef all the same (NaN when total is NaN: every gradient becomes NaN; 0 when it is inf) and
/// total is returned, for the caller to notice. ValueError, changing nothing, for a max_norm that
/// is not >= 0 or a norm_type that is not > 0 (PyTorch also takes 0 and -inf norms; tapegrad does not).
template <class T>
double clip_grad_norm_(const std::vector<Tensor<T>>& params, double max_norm, double norm_type = 2,
                       bool error_if_nonfinite = false);

/// clip_grad_norm_ with the 2-norm: the name tapegrad used before clip_grad_norm_ existed.
template <class T>
double clip_grad_norm(const std::vector<Tensor<T>>& params, double max_norm) {
    return clip_grad_norm_(params, max_norm);
}

/// torch.nn.utils.clip_grad_value_: clamps every gradient element into [-clip_value, clip_value] in
/// place (NaN stays NaN); parameters without a gradient are skipped. ValueError, changing nothing,
/// for a clip_value that is not >= 0 (PyTorch does not check; a negative one sets every element to it).
template <class T>
void clip_grad_value_(const std::vector<Tensor<T>>& params, double clip_value);

}  // namespace tapegrad::nn
