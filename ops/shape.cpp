#include <tapegrad/ops/shape.hpp>

#include <algorithm>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/check.hpp>

namespace tapegrad {

namespace {

/// A shape seen as outer x dim x inner, the layout slice, concat and their adjoints copy in.
struct DimLayout {
    std::size_t outer = 1;  // product of the sizes before the dim
    std::size_t inner = 1;  // product of the sizes after it
};

DimLayout dim_layout(const Shape& shape, std::size_t dim) {
    DimLayout layout;
    for (std::size_t i = 0; i < dim; ++i) layout.outer *= shape[i];
    for (std::size_t i = dim + 1; i < shape.size(); ++i) layout.inner *= shape[i];
    return layout;
}

/// Copies `count` positions along the dim, from src (the dim's size src_dim, from src_at) to dst
/// (the dim's size dst_dim, from dst_at), for every outer index.
template <class T>
void copy_along(const T* src, std::size_t src_dim, std::size_t src_at, T* dst, std::size_t dst_dim, std::size_t dst_at,
                std::size_t count, const DimLayout& layout) {
    const std::size_t block = count * layout.inner;
    for (std::size_t o = 0; o < layout.outer; ++o) {
        const T* from = src + (o * src_dim + src_at) * layout.inner;
        std::copy(from, from + block, dst + (o * dst_dim + dst_at) * layout.inner);
    }
}

/// x permuted by `order` (out's dim i is x's dim order[i]), copied in one pass in out's order.
/// Trailing dims the permutation leaves in place are contiguous in both arrays and copied as whole
/// runs (attention's head split keeps the head size last); xt::transpose's strided view, walked
/// element by element, was most of that op's time.
template <class T>
void permute_into(const xt::xarray<T>& x, const std::vector<std::size_t>& order, T* out) {
    const Shape& shape = x.shape();
    std::size_t kept = order.size();  // dims [kept, ndim) stay in place
    while (kept > 0 && order[kept - 1] == kept - 1) --kept;
    std::size_t run = 1;
    for (std::size_t i = kept; i < order.size(); ++i) run *= shape[i];
    std::vector<std::size_t> stride(shape.size(), 1);  // x's row-major strides
    for (std::size_t i = shape.size(); i-- > 1;) stride[i - 1] = stride[i] * shape[i];
    std::vector<std::size_t> index(kept, 0);
    const T* in = x.data();
    std::size_t offset = 0;
    for (std::size_t done = 0; done < x.size(); done += run) {
        std::copy(in + offset, in + offset + run, out + done);
        for (std::size_t i = kept; i-- > 0;) {  // the odometer over out's leading dims
            offset += stride[order[i]];
            if (++index[i] < shape[order[i]]) break;
            offset -= stride[order[i]] * shape[order[i]];
            index[i] = 0;
        }
    }
}

/// The adjoint of slice: g placed at [start, start + g's size) along dim of a zero tensor of
/// `shape`.   d/dg = slice(grad, dim, start, start + g's size)
template <class T>
Tensor<T> pad_slice(const Tensor<T>& g, const Shape& shape, std::size_t dim, std::size_t start) {
    const std::size_t count = g.shape()[dim];
    xt::xarray<T> out = detail::take_buffer<T>("slice_backward", shape);
    out.fill(T(0));
    copy_along(g.value().data(), count, 0, out.data(), shape[dim], start, count, dim_layout(shape, dim));
    return record<T>(
        "slice_backward", {g}, std::move(out),
        [dim, start, count](const Backward<T>& ctx) -> Grads<T> {
            return {slice(ctx.grad(), static_cast<std::int64_t>(dim), static_cast<std::int64_t>(start),
                          static_cast<std::int64_t>(start + count))};
        },
        [shape, dim, start](const Forward<T>& ctx) { return pad_slice(ctx.tangent(0), shape, dim, start); });
}

/// PyTorch's slice bounds: a negative index counts from the end, then it is clamped to [0, size].
std::size_t slice_bound(std::int64_t index, std::size_t size) {
    const auto n = static_cast<std::int64_t>(size);
    if (index < 0) index = std::max<std::int64_t>(index + n, 0);
    return static_cast<std::size_t>(std::min(index, n));
}

template <class T>
void check_element(const char* op, const std::vector<Tensor<T>>& xs, std::size_t k) {
    if (!xs[k].defined()) fail<ValueError>("{}: xs[{}] is an undefined tensor", op, k);
}

template <class T>
void check_concat(const std::vector<Tensor<T>>& xs, std::size_t dim) {
    const Shape& first = xs[0].shape();
    for (std::size_t k = 1; k < xs.size(); ++k) {
        check_element("concat", xs, k);
        const Shape& s = xs[k].shape();
        bool fits = s.size() == first.size();
        for (std::size_t i = 0; fits && i < s.size(); ++i) fits = i == dim || s[i] == first[i];
        if (!fits) {
            fail<ShapeError>("concat: xs[0] has shape {}, xs[{}] has shape {}; they must be equal except along dim {}",
                             shape_str(first), k, shape_str(s), dim);
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
    return record<T>(
        "reshape", {x}, std::move(out),
        [](const Backward<T>& ctx) -> Grads<T> { return {reshape(ctx.grad(), ctx.input(0).shape())}; },
        [](const Forward<T>& ctx) { return reshape(ctx.tangent(0), ctx.output().shape()); });
}

template <class T>
Tensor<T> permute(const Tensor<T>& x, const Dims& dims) {
    check_defined("permute", "x", x);
    const auto n = static_cast<std::int64_t>(dims.size());
    std::vector<std::size_t> order(dims.size());  // dims made non-negative
    Dims inverse(dims.size(), n);
    bool ok = dims.size() == x.ndim();
    for (std::size_t i = 0; ok && i < dims.size(); ++i) {
        ok = dims[i] >= -n && dims[i] < n;
        order[i] = static_cast<std::size_t>(ok && dims[i] < 0 ? dims[i] + n : dims[i]);
        ok = ok && inverse[order[i]] == n;
        if (ok) inverse[order[i]] = static_cast<std::int64_t>(i);
    }
    if (!ok) {
        fail<ValueError>("permute: dims [{}] is not a permutation of the {} dims of x (shape {})",
                         fmt::join(dims, ", "), x.ndim(), shape_str(x.shape()));
    }
    Shape out_shape(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) out_shape[i] = x.shape()[order[i]];
    xt::xarray<T> out = detail::take_buffer<T>("permute", out_shape);
    permute_into(x.value(), order, out.data());
    return record<T>(
        "permute", {x}, std::move(out),
        [inverse](const Backward<T>& ctx) -> Grads<T> { return {permute(ctx.grad(), inverse)}; },
        [dims](const Forward<T>& ctx) { return permute(ctx.tangent(0), dims); });
}

template <class T>
Tensor<T> transpose(const Tensor<T>& x, std::int64_t dim0, std::int64_t dim1) {
    check_defined("transpose", "x", x);
    const std::size_t a = normalize_dim("transpose", "x", dim0, x.shape());
    const std::size_t b = normalize_dim("transpose", "x", dim1, x.shape());
    Dims dims(x.ndim());
    for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = static_cast<std::int64_t>(i);
    std::swap(dims[a], dims[b]);
    return permute(x, dims);
}

template <class T>
Tensor<T> slice(const Tensor<T>& x, std::int64_t dim, std::int64_t start, std::int64_t end) {
    check_defined("slice", "x", x);
    const std::size_t d = normalize_dim("slice", "x", dim, x.shape());
    const std::size_t size = x.shape()[d];
    const std::size_t from = slice_bound(start, size);
    const std::size_t to = std::max(from, slice_bound(end, size));
    Shape shape = x.shape();
    shape[d] = to - from;
    xt::xarray<T> out = detail::take_buffer<T>("slice", shape);
    copy_along(x.value().data(), size, from, out.data(), shape[d], 0, shape[d], dim_layout(shape, d));
    return record<T>(
        "slice", {x}, std::move(out),
        [d, from](const Backward<T>& ctx) -> Grads<T> {
            return {pad_slice(ctx.grad(), ctx.input(0).shape(), d, from)};
        },
        [d, from, to](const Forward<T>& ctx) {
            return slice(ctx.tangent(0), static_cast<std::int64_t>(d), static_cast<std::int64_t>(from),
                         static_cast<std::int64_t>(to));
        });
}

template <class T>
Tensor<T> concat(const std::vector<Tensor<T>>& xs, std::int64_t dim) {
    if (xs.empty()) fail<ValueError>("concat: xs is empty; there is nothing to join");
    check_element("concat", xs, 0);
    const std::size_t d = normalize_dim("concat", "xs[0]", dim, xs[0].shape());
    check_concat(xs, d);
    Shape shape = xs[0].shape();
    shape[d] = 0;
    for (const auto& x : xs) shape[d] += x.shape()[d];
    xt::xarray<T> out = detail::take_buffer<T>("concat", shape);
    const DimLayout layout = dim_layout(shape, d);
    std::size_t at = 0;
    for (const auto& x : xs) {
        copy_along(x.value().data(), x.shape()[d], 0, out.data(), shape[d], at, x.shape()[d], layout);
        at += x.shape()[d];
    }
    std::vector<std::int64_t> counts;
    for (const auto& x : xs) counts.push_back(static_cast<std::int64_t>(x.shape()[d]));
    return record<T>(
        "concat", xs, std::move(out),
        [d, counts](const Backward<T>& ctx) -> Grads<T> {
            Grads<T> grads;
            std::int64_t from = 0;
            for (std::size_t k = 0; k < counts.size(); ++k) {
                const auto sd = static_cast<std::int64_t>(d);
                grads.push_back(ctx.needs(k) ? slice(ctx.grad(), sd, from, from + counts[k]) : Tensor<T>());
                from += counts[k];
            }
            return grads;
        },
        [d](const Forward<T>& ctx) {
            // The tangents joined the same way, zeros standing for the inputs without one.
            std::vector<Tensor<T>> parts;
            for (std::size_t k = 0; k < ctx.count(); ++k)
                parts.push_back(ctx.has(k) ? ctx.tangent(k) : zeros_like(ctx.input(k)));
            return concat(parts, static_cast<std::int64_t>(d));
        });
}

template <class T>
Tensor<T> stack(const std::vector<Tensor<T>>& xs, std::int64_t dim) {
    if (xs.empty()) fail<ValueError>("stack: xs is empty; there is nothing to join");
    check_element("stack", xs, 0);
    const auto n = static_cast<std::int64_t>(xs[0].ndim()) + 1;  // the result's dims: one more than each input's
    if (dim < -n || dim >= n) {
        fail<ValueError>("stack: dim {} is out of range for xs[0] of shape {} (a new dim goes at {}..{})", dim,
                         shape_str(xs[0].shape()), -n, n - 1);
    }
    std::vector<Tensor<T>> expanded;
    expanded.reserve(xs.size());
    for (std::size_t k = 0; k < xs.size(); ++k) {
        check_element("stack", xs, k);
        if (xs[k].shape() != xs[0].shape()) {
            fail<ShapeError>("stack: xs[0] has shape {}, xs[{}] has shape {}; they must be equal",
                             shape_str(xs[0].shape()), k, shape_str(xs[k].shape()));
        }
        expanded.push_back(unsqueeze(xs[k], dim));
    }
    return concat(expanded, dim);
}

template <class T>
Tensor<T> unsqueeze(const Tensor<T>& x, std::int64_t dim) {
    check_defined("unsqueeze", "x", x);
    const auto n = static_cast<std::int64_t>(x.ndim());
    if (dim < -n - 1 || dim > n) {
        fail<ValueError>("unsqueeze: dim {} is out of range for x of shape {} (a new dim goes at {}..{})", dim,
                         shape_str(x.shape()), -n - 1, n);
    }
    const auto a = static_cast<std::size_t>(dim < 0 ? dim + n + 1 : dim);
    Shape shape(x.ndim() + 1, 1);  // x's dimensions with a 1 at a
    for (std::size_t i = 0; i < x.ndim(); ++i) shape[i < a ? i : i + 1] = x.shape()[i];
    return reshape(x, shape);
}

template <class T>
Tensor<T> squeeze(const Tensor<T>& x, std::int64_t dim) {
    check_defined("squeeze", "x", x);
    const std::size_t a = normalize_dim("squeeze", "x", dim, x.shape());
    if (x.shape()[a] != 1) {
        fail<ShapeError>("squeeze: dim {} of x (shape {}) has size {}, not 1", a, shape_str(x.shape()), x.shape()[a]);
    }
    Shape shape = x.shape();
    shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(a));
    return reshape(x, shape);
}

#define TAPEGRAD_INSTANTIATE(T)                                                           \
    template Tensor<T> reshape(const Tensor<T>&, const Shape&);                           \
    template Tensor<T> permute(const Tensor<T>&, const Dims&);                            \
    template Tensor<T> transpose(const Tensor<T>&, std::int64_t, std::int64_t);           \
    template Tensor<T> slice(const Tensor<T>&, std::int64_t, std::int64_t, std::int64_t); \
    template Tensor<T> concat(const std::vector<Tensor<T>>&, std::int64_t);               \
    template Tensor<T> stack(const std::vector<Tensor<T>>&, std::int64_t);                \
    template Tensor<T> unsqueeze(const Tensor<T>&, std::int64_t);                         \
    template Tensor<T> squeeze(const Tensor<T>&, std::int64_t);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
