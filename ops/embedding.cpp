#include <tapegrad/ops/embedding.hpp>

#include <algorithm>
#include <memory>

#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/check.hpp>

namespace tapegrad {

namespace {

/// What the lookup's backward rules share (so a double backward copies no indices): the ids,
/// already checked against num_embeddings, and the padding row, resolved (or none).
struct Lookup {
    Indices idx;
    std::size_t num_embeddings = 0;
    std::optional<std::size_t> padding;
};
using SharedLookup = std::shared_ptr<const Lookup>;

/// idx.shape + [dim]: the lookup's output shape.
Shape rows_shape(const Indices& idx, std::size_t dim) {
    Shape shape = idx.shape();
    shape.push_back(dim);
    return shape;
}

template <class T>
Tensor<T> scatter_rows(const Tensor<T>& g, SharedLookup lookup);

/// Row j of y is row idx[j] of w, or zeros at the padding positions when zero_padding: the public
/// lookup (zero_padding false) and the adjoint of scatter_rows (true), under one name.
///   d/dw = scatter_rows(g)   (the padding row gets nothing in both cases)
///   tangent: gather_rows(dw) with the padding positions zeroed, as the backward treats them
template <class T>
Tensor<T> gather_rows(const Tensor<T>& w, SharedLookup lookup, bool zero_padding) {
    const std::size_t dim = w.shape()[1], n = lookup->idx.numel();
    xt::xarray<T> out = detail::take_buffer<T>("embedding", rows_shape(lookup->idx, dim));
    const T* src = w.value().data();
    T* dst = out.data();
    for (std::size_t j = 0; j < n; ++j) {
        const auto r = static_cast<std::size_t>(lookup->idx[j]);
        if (zero_padding && lookup->padding == r) {
            std::fill_n(dst + j * dim, dim, T(0));
        } else {
            std::copy_n(src + r * dim, dim, dst + j * dim);
        }
    }
    return record<T>(
        "embedding", {w}, std::move(out),
        [lookup](const Backward<T>& ctx) -> Grads<T> { return {scatter_rows(ctx.grad(), lookup)}; },
        [lookup](const Forward<T>& ctx) { return gather_rows(ctx.tangent(0), lookup, true); });
}

/// Zeros of [num_embeddings, dim] with row j of g added to row idx[j], except where idx[j] is the
/// padding row: the lookup's weight gradient. Repeated ids accumulate.
///   d/dg = gather_rows(grad) with the padding positions zeroed (its exact adjoint)
///   tangent: scatter_rows(dg) (linear)
template <class T>
Tensor<T> scatter_rows(const Tensor<T>& g, SharedLookup lookup) {
    const std::size_t dim = g.shape().back(), n = lookup->idx.numel();
    xt::xarray<T> out = detail::take_buffer<T>("embedding_backward", {lookup->num_embeddings, dim});
    out.fill(T(0));
    const T* src = g.value().data();
    T* dst = out.data();
    for (std::size_t j = 0; j < n; ++j) {
        const auto r = static_cast<std::size_t>(lookup->idx[j]);
        if (lookup->padding == r) continue;
        T* to = dst + r * dim;
        const T* from = src + j * dim;
        for (std::size_t k = 0; k < dim; ++k) to[k] += from[k];
    }
    return record<T>(
        "embedding_backward", {g}, std::move(out),
        [lookup](const Backward<T>& ctx) -> Grads<T> { return {gather_rows(ctx.grad(), lookup, true)}; },
        [lookup](const Forward<T>& ctx) { return scatter_rows(ctx.tangent(0), lookup); });
}

/// Every id in 0..num-1, else an IndexError naming the first one outside, its position and num.
void check_ids(const Indices& idx, std::size_t num) {
    const auto n = static_cast<std::int64_t>(num);
    for (std::size_t j = 0; j < idx.numel(); ++j) {
        if (idx[j] < 0 || idx[j] >= n) {
            fail<IndexError>(
                "embedding: index {} (flat position {} of idx, shape {}) is out of range for num_embeddings {} "
                "(expected 0..{}; negative ids are not counted from the end)",
                idx[j], j, shape_str(idx.shape()), num, n - 1);
        }
    }
}

}  // namespace

template <class T>
Tensor<T> embedding(const Indices& idx, const Tensor<T>& weight, std::optional<std::int64_t> padding_idx) {
    check_ndim("embedding", "weight", weight, 2);
    const std::size_t num = weight.shape()[0];
    const auto n = static_cast<std::int64_t>(num);
    std::optional<std::size_t> padding;
    if (padding_idx) {
        if (*padding_idx < -n || *padding_idx >= n) {
            fail<ValueError>("embedding: padding_idx {} is out of range for num_embeddings {} (weight shape {})",
                             *padding_idx, num, shape_str(weight.shape()));
        }
        padding = static_cast<std::size_t>(*padding_idx < 0 ? *padding_idx + n : *padding_idx);
    }
    check_ids(idx, num);
    return gather_rows(weight, std::make_shared<const Lookup>(Lookup{idx, num, padding}), false);
}

#define TAPEGRAD_INSTANTIATE(T) \
    template Tensor<T> embedding(const Indices&, const Tensor<T>&, std::optional<std::int64_t>);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
