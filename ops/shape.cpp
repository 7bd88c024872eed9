#include <tapegrad/ops/shape.hpp>

#include <algorithm>

#include <xtensor/xmanipulation.hpp>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/check.hpp>

namespace tapegrad {

namespace {

/// A shape seen as outer x axis x inner, the layout slice, concat and their adjoints copy in.
struct AxisLayout {
    std::size_t outer = 1;  // product of the dimensions before the axis
    std::size_t inner = 1;  // product of the dimensions after it
};

AxisLayout axis_layout(const Shape& shape, std::size_t axis) {
    AxisLayout layout;
    for (std::size_t i = 0; i < axis; ++i) layout.outer *= shape[i];
    for (std::size_t i = axis + 1; i < shape.size(); ++i) layout.inner *= shape[i];
    return layout;
}

/// Copies `count` positions along the axis, from src (axis size src_dim, from src_at) to dst
/// (axis size dst_dim, from dst_at), for every outer index.
template <class T>
void copy_along(const T* src, std::size_t src_dim, std::size_t src_at, T* dst, std::size_t dst_dim, std::size_t dst_at,
                std::size_t count, const AxisLayout& layout) {
    const std::size_t block = count * layout.inner;
    for (std::size_t o = 0; o < layout.outer; ++o) {
        const T* from = src + (o * src_dim + src_at) * layout.inner;
        std::copy(from, from + block, dst + (o * dst_dim + dst_at) * layout.inner);
    }
}

/// The adjoint of slice: g placed at [start, start + g's size) along axis of a zero tensor of
/// `shape`.   d/dg = slice(grad, axis, start, start + g's size)
template <class T>
Tensor<T> pad_slice(const Tensor<T>& g, const Shape& shape, std::size_t axis, std::size_t start) {
    const std::size_t count = g.shape()[axis];
    xt::xarray<T> out = detail::take_buffer<T>("slice_backward", shape);
    out.fill(T(0));
    copy_along(g.value().data(), count, 0, out.data(), shape[axis], start, count, axis_layout(shape, axis));
    return record<T>("slice_backward", {g}, std::move(out), [axis, start, count](const Backward<T>& ctx) -> Grads<T> {
        return {slice(ctx.grad(), static_cast<std::int64_t>(axis), start, start + count)};
    });
}

template <class T>
void check_element(const char* op, const std::vector<Tensor<T>>& xs, std::size_t k) {
    if (!xs[k].defined()) fail<ValueError>("{}: xs[{}] is an undefined tensor", op, k);
}

template <class T>
void check_concat(const std::vector<Tensor<T>>& xs, std::size_t axis) {
    const Shape& first = xs[0].shape();
    for (std::size_t k = 1; k < xs.size(); ++k) {
        check_element("concat", xs, k);
        const Shape& s = xs[k].shape();
        bool fits = s.size() == first.size();
        for (std::size_t i = 0; fits && i < s.size(); ++i) fits = i == axis || s[i] == first[i];
        if (!fits) {
            fail<ShapeError>("concat: xs[0] has shape {}, xs[{}] has shape {}; they must be equal except along axis {}",
                             shape_str(first), k, shape_str(s), axis);
        }
    }
}

}  // namespace

template <class T>
Tensor<T> reshape(const Tensor<T>& x, const Shape& shape) {
    check_defined("reshape", "x", x);
    if (numel("reshape", shape) != x.numel()) {
        fail<ShapeError>("reshape: x has shape {} ({} elements), which cannot be reshaped to {} ({} elements)",
                         shape_str(x.shape()), x.numel(), shape_str(shape), numel("reshape", shape));
    }
    xt::xarray<T> out = detail::evaluate<T>("reshape", x.value());
    out.reshape(shape);
    return record<T>("reshape", {x}, std::move(out),
                     [](const Backward<T>& ctx) -> Grads<T> { return {reshape(ctx.grad(), ctx.input(0).shape())}; });
}

template <class T>
Tensor<T> permute(const Tensor<T>& x, const std::vector<std::int64_t>& dims) {
    check_defined("permute", "x", x);
    const auto n = static_cast<std::int64_t>(dims.size());
    std::vector<std::size_t> axes(dims.size());
    std::vector<std::int64_t> inverse(dims.size(), n);
    bool ok = dims.size() == x.ndim();
    for (std::size_t i = 0; ok && i < dims.size(); ++i) {
        ok = dims[i] >= -n && dims[i] < n;
        axes[i] = static_cast<std::size_t>(ok && dims[i] < 0 ? dims[i] + n : dims[i]);
        ok = ok && inverse[axes[i]] == n;
        if (ok) inverse[axes[i]] = static_cast<std::int64_t>(i);
    }
    if (!ok) {
        fail<ValueError>("permute: dims [{}] is not a permutation of the {} axes of x (shape {})",
                         fmt::join(dims, ", "), x.ndim(), shape_str(x.shape()));
    }
    xt::xarray<T> out = detail::evaluate<T>("permute", xt::transpose(x.value(), axes));
    return record<T>("permute", {x}, std::move(out),
                     [inverse](const Backward<T>& ctx) -> Grads<T> { return {permute(ctx.grad(), inverse)}; });
}

template <class T>
Tensor<T> transpose(const Tensor<T>& x, std::int64_t dim0, std::int64_t dim1) {
    check_defined("transpose", "x", x);
    const std::size_t a = normalize_axis("transpose", dim0, x.ndim());
    const std::size_t b = normalize_axis("transpose", dim1, x.ndim());
    std::vector<std::int64_t> dims(x.ndim());
    for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = static_cast<std::int64_t>(i);
    std::swap(dims[a], dims[b]);
    return permute(x, dims);
}

template <class T>
Tensor<T> slice(const Tensor<T>& x, std::int64_t axis, std::size_t start, std::size_t stop) {
    check_defined("slice", "x", x);
    const std::size_t a = normalize_axis("slice", axis, x.ndim());
    if (start > stop || stop > x.shape()[a]) {
        fail<ValueError>("slice: [start, stop) = [{}, {}) is not a range within axis {} of size {} (x has shape {})",
                         start, stop, a, x.shape()[a], shape_str(x.shape()));
    }
    Shape shape = x.shape();
    shape[a] = stop - start;
    xt::xarray<T> out = detail::take_buffer<T>("slice", shape);
    copy_along(x.value().data(), x.shape()[a], start, out.data(), shape[a], 0, shape[a], axis_layout(shape, a));
    return record<T>("slice", {x}, std::move(out), [a, start](const Backward<T>& ctx) -> Grads<T> {
        return {pad_slice(ctx.grad(), ctx.input(0).shape(), a, start)};
    });
}

template <class T>
Tensor<T> concat(const std::vector<Tensor<T>>& xs, std::int64_t axis) {
    if (xs.empty()) fail<ValueError>("concat: xs is empty; there is nothing to join");
    check_element("concat", xs, 0);
    const std::size_t a = normalize_axis("concat", axis, xs[0].ndim());
    check_concat(xs, a);
    Shape shape = xs[0].shape();
    shape[a] = 0;
    for (const auto& x : xs) shape[a] += x.shape()[a];
    xt::xarray<T> out = detail::take_buffer<T>("concat", shape);
    const AxisLayout layout = axis_layout(shape, a);
    std::size_t at = 0;
    for (const auto& x : xs) {
        copy_along(x.value().data(), x.shape()[a], 0, out.data(), shape[a], at, x.shape()[a], layout);
        at += x.shape()[a];
    }
    std::vector<std::size_t> counts;
    for (const auto& x : xs) counts.push_back(x.shape()[a]);
    return record<T>("concat", xs, std::move(out), [a, counts](const Backward<T>& ctx) -> Grads<T> {
        Grads<T> grads;
        std::size_t from = 0;
        for (std::size_t k = 0; k < counts.size(); ++k) {
            const auto ax = static_cast<std::int64_t>(a);
            grads.push_back(ctx.needs(k) ? slice(ctx.grad(), ax, from, from + counts[k]) : Tensor<T>());
            from += counts[k];
        }
        return grads;
    });
}

template <class T>
Tensor<T> stack(const std::vector<Tensor<T>>& xs, std::int64_t axis) {
    if (xs.empty()) fail<ValueError>("stack: xs is empty; there is nothing to join");
    check_element("stack", xs, 0);
    normalize_axis("stack", axis, xs[0].ndim() + 1);  // the result's axes: one more than each input's
    std::vector<Tensor<T>> expanded;
    expanded.reserve(xs.size());
    for (std::size_t k = 0; k < xs.size(); ++k) {
        check_element("stack", xs, k);
        if (xs[k].shape() != xs[0].shape()) {
            fail<ShapeError>("stack: xs[0] has shape {}, xs[{}] has shape {}; they must be equal",
                             shape_str(xs[0].shape()), k, shape_str(xs[k].shape()));
        }
        expanded.push_back(unsqueeze(xs[k], axis));
    }
    return concat(expanded, axis);
}

template <class T>
Tensor<T> unsqueeze(const Tensor<T>& x, std::int64_t axis) {
    check_defined("unsqueeze", "x", x);
    const auto n = static_cast<std::int64_t>(x.ndim());
    if (axis < -n - 1 || axis > n) {
        fail<ValueError>("unsqueeze: axis {} is out of range for x with shape {} (a new axis goes at {}..{})", axis,
                         shape_str(x.shape()), -n - 1, n);
    }
    const auto a = static_cast<std::size_t>(axis < 0 ? axis + n + 1 : axis);
    Shape shape(x.ndim() + 1, 1);  // x's dimensions with a 1 at a
    for (std::size_t i = 0; i < x.ndim(); ++i) shape[i < a ? i : i + 1] = x.shape()[i];
    return reshape(x, shape);
}

template <class T>
Tensor<T> squeeze(const Tensor<T>& x, std::int64_t axis) {
    check_defined("squeeze", "x", x);
    const std::size_t a = normalize_axis("squeeze", axis, x.ndim());
    if (x.shape()[a] != 1) {
        fail<ShapeError>("squeeze: axis {} of x (shape {}) has size {}, not 1", a, shape_str(x.shape()), x.shape()[a]);
    }
    Shape shape = x.shape();
    shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(a));
    return reshape(x, shape);
}

#define TAPEGRAD_INSTANTIATE(T)                                                         \
    template Tensor<T> reshape(const Tensor<T>&, const Shape&);                         \
    template Tensor<T> permute(const Tensor<T>&, const std::vector<std::int64_t>&);     \
    template Tensor<T> transpose(const Tensor<T>&, std::int64_t, std::int64_t);         \
    template Tensor<T> slice(const Tensor<T>&, std::int64_t, std::size_t, std::size_t); \
    template Tensor<T> concat(const std::vector<Tensor<T>>&, std::int64_t);             \
    template Tensor<T> stack(const std::vector<Tensor<T>>&, std::int64_t);              \
    template Tensor<T> unsqueeze(const Tensor<T>&, std::int64_t);                       \
    template Tensor<T> squeeze(const Tensor<T>&, std::int64_t);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
