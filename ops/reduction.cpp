#include <tapegrad/ops/reduction.hpp>

#include <tapegrad/autograd/broadcast.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad::detail {

template <class T>
DimMask reduced_dims(const char* op, const Tensor<T>& x, const Dims& dims) {
    check_defined(op, "x", x);
    DimMask reduced(x.ndim(), false);
    for (auto dim : dims) {
        const std::size_t d = normalize_dim(op, "x", dim, x.shape());
        if (reduced[d]) {
            fail<ValueError>("{}: dim {} is listed twice in dims [{}] (x has shape {})", op, d, fmt::join(dims, ", "),
                             shape_str(x.shape()));
        }
        reduced[d] = true;
    }
    return reduced;
}

template <class T>
DimMask all_dims(const char* op, const Tensor<T>& x) {
    check_defined(op, "x", x);
    return DimMask(x.ndim(), true);
}

template <class T>
std::size_t checked_dim(const char* op, const Tensor<T>& x, std::int64_t dim) {
    check_defined(op, "x", x);
    return normalize_dim(op, "x", dim, x.shape());
}

Shape reduced_shape(const Shape& shape, const DimMask& reduced, bool keepdim) {
    Shape out;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (!reduced[i]) {
            out.push_back(shape[i]);
        } else if (keepdim) {
            out.push_back(1);
        }
    }
    return out;
}

std::size_t reduced_count(const Shape& shape, const DimMask& reduced) {
    std::size_t count = 1;
    for (std::size_t i = 0; i < shape.size(); ++i) count *= reduced[i] ? shape[i] : 1;
    return count;
}

template <class T>
Tensor<T> expand_back(const Tensor<T>& grad, const Shape& kept, const Shape& x_shape) {
    const Tensor<T> g = grad.shape() == kept ? grad : reshape(grad, kept);
    return g.shape() == x_shape ? g : broadcast_to(g, x_shape);
}

AlongDim along_dim(const Shape& shape, std::size_t dim) {
    AlongDim a;
    for (std::size_t i = 0; i < dim; ++i) a.outer *= shape[i];
    a.size = shape[dim];
    for (std::size_t i = dim + 1; i < shape.size(); ++i) a.inner *= shape[i];
    return a;
}

template <class T>
Tensor<T> take_along(const char* name, const Tensor<T>& x, const SharedIndices& index, std::size_t dim,
                     const Shape& shape) {
    const AlongDim from = along_dim(x.shape(), dim);
    const AlongDim to = along_dim(index->shape(), dim);
    xt::xarray<T> out = take_buffer<T>(name, shape);
    const T* src = x.value().data();
    const std::int64_t* idx = index->begin();
    T* dst = out.data();
    for (std::size_t o = 0; o < to.outer; ++o) {
        for (std::size_t j = 0; j < to.size; ++j) {
            const std::size_t at = (o * to.size + j) * to.inner;
            for (std::size_t i = 0; i < to.inner; ++i) {
                dst[at + i] = src[(o * from.size + static_cast<std::size_t>(idx[at + i])) * from.inner + i];
            }
        }
    }
    return record<T>(name, {x}, std::move(out), [index, dim](const Backward<T>& ctx) -> Grads<T> {
        return {put_along(ctx.grad(), index, dim, ctx.input(0).shape())};
    });
}

template <class T>
Tensor<T> put_along(const Tensor<T>& g, const SharedIndices& index, std::size_t dim, const Shape& shape) {
    const AlongDim to = along_dim(shape, dim);
    const AlongDim from = along_dim(index->shape(), dim);
    xt::xarray<T> out = take_buffer<T>("put_along", shape);
    out.fill(T(0));
    const T* src = g.value().data();
    const std::int64_t* idx = index->begin();
    T* dst = out.data();
    for (std::size_t o = 0; o < from.outer; ++o) {
        for (std::size_t j = 0; j < from.size; ++j) {
            const std::size_t at = (o * from.size + j) * from.inner;
            for (std::size_t i = 0; i < from.inner; ++i) {
                dst[(o * to.size + static_cast<std::size_t>(idx[at + i])) * to.inner + i] += src[at + i];
            }
        }
    }
    return record<T>("put_along", {g}, std::move(out), [index, dim](const Backward<T>& ctx) -> Grads<T> {
        return {take_along("take_along", ctx.grad(), index, dim, ctx.input(0).shape())};
    });
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                    \
    template DimMask reduced_dims(const char*, const Tensor<T>&, const Dims&);                                     \
    template DimMask all_dims(const char*, const Tensor<T>&);                                                      \
    template std::size_t checked_dim(const char*, const Tensor<T>&, std::int64_t);                                 \
    template Tensor<T> expand_back(const Tensor<T>&, const Shape&, const Shape&);                                  \
    template Tensor<T> take_along(const char*, const Tensor<T>&, const SharedIndices&, std::size_t, const Shape&); \
    template Tensor<T> put_along(const Tensor<T>&, const SharedIndices&, std::size_t, const Shape&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::detail
