// One strided reduction loop, shared by sum_to and ops/reduce. (xtensor 0.24.3's immediate
// reducers mis-size their result for dynamic axes (xtensor's word for dims), so we do not use them.)
#pragma once

#include <cmath>

#include <xtensor/xarray.hpp>
#include <xtensor/xstorage.hpp>

#include <tapegrad/autograd/buffer_pool.hpp>
#include <tapegrad/autograd/errors.hpp>

namespace tapegrad {

/// Which dims a reduction folds, one flag per dim of its input; inline for up to 8 dims.
using DimMask = xt::svector<bool, 8>;

/// The larger of a running maximum and v, where NaN wins (as in numpy and PyTorch): it is kept once
/// it is the accumulator, and taken when it is v. Every max-based op (max, softmax's shift, the
/// fused cross-entropy) folds with this, starting from -infinity.
template <class T>
constexpr T nan_max(T acc, T v) {
    return (acc >= v || std::isnan(acc)) ? acc : v;
}

/// The common case of a bias gradient (sum over the batch): the reduced dims lead and the kept
/// ones trail, so each input row folds into the output block with a unit-stride (vectorisable)
/// loop instead of the general odometer. Returns false when the dims do not have that form.
template <class T, class F>
bool reduce_leading(const xt::xarray<T>& x, const DimMask& reduced, xt::xarray<T>& out, F fold) {
    std::size_t lead = 0;
    while (lead < reduced.size() && reduced[lead]) ++lead;
    for (std::size_t i = lead; i < reduced.size(); ++i) {
        if (reduced[i]) return false;
    }
    const std::size_t block = out.size();
    if (block == 0) return true;
    const std::size_t rows = x.size() / block;
    const T* in = x.data();
    T* dst = out.data();
    for (std::size_t r = 0; r < rows; ++r, in += block) {
        for (std::size_t j = 0; j < block; ++j) dst[j] = fold(dst[j], in[j]);
    }
    return true;
}

/// Folds x over the dims where reduced[dim] is true, starting each output element at init.
/// The result keeps the reduced dims with size 1 (keepdim); reshape to drop them.
template <class T, class F>
xt::xarray<T> reduce_dims(const char* op, const xt::xarray<T>& x, const DimMask& reduced, T init, F fold) {
    const std::size_t nd = x.dimension();
    Shape out_shape(x.shape().begin(), x.shape().end());
    for (std::size_t i = 0; i < nd; ++i) {
        if (reduced[i]) out_shape[i] = 1;
    }
    xt::xarray<T> out = detail::take_buffer<T>(op, out_shape);
    out.fill(init);
    if (reduce_leading(x, reduced, out, fold)) return out;
    // Output offset of each input element: row-major strides with 0 on reduced dims.
    xt::svector<std::size_t, 8> stride(nd, 0);
    std::size_t s = 1;
    for (std::size_t i = nd; i-- > 0;) {
        stride[i] = reduced[i] ? 0 : s;
        s *= out_shape[i];
    }
    // Reduced trailing dims (a batch norm's [N, C, H, W] -> C folds runs of H W) are one contiguous
    // run per output element: fold it in a register and step the odometer over the outer dims only.
    // The order of the folds is the row-major one either way, so results do not depend on the path.
    std::size_t outer_dims = nd, run = 1;
    while (outer_dims > 0 && reduced[outer_dims - 1]) run *= x.shape()[--outer_dims];
    if (run == 0) return out;
    xt::svector<std::size_t, 8> index(nd, 0);
    std::size_t offset = 0;
    const T* in = x.data();
    T* dst = out.data();
    for (std::size_t k = 0, n = x.size() / run; k < n; ++k, in += run) {
        T acc = dst[offset];
        for (std::size_t j = 0; j < run; ++j) acc = fold(acc, in[j]);
        dst[offset] = acc;
        for (std::size_t i = outer_dims; i-- > 0;) {  // odometer increment, last outer dim fastest
            offset += stride[i];
            if (++index[i] < x.shape()[i]) break;
            offset -= stride[i] * index[i];
            index[i] = 0;
        }
    }
    return out;
}

}  // namespace tapegrad
