#include <tapegrad/ops/layout.hpp>

#include <algorithm>
#include <cstddef>

#include <tapegrad/autograd/broadcast.hpp>
#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad {

namespace {

using Strides = xt::svector<std::ptrdiff_t, 6>;

/// Where a strided walk over an array starts and how far each dim steps (signed: flip walks back).
struct Walk {
    std::ptrdiff_t offset = 0;
    Strides strides;
};

/// Row-major strides of a contiguous array of `shape`.
Strides strides_of(const Shape& shape) {
    Strides s(shape.size(), 1);
    for (std::size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * static_cast<std::ptrdiff_t>(shape[i]);
    return s;
}

Walk contiguous(const Shape& shape) {
    return {0, strides_of(shape)};
}

/// Copies an `extent`-shaped box: element idx goes from src[from.offset + idx . from.strides] to
/// dst[to.offset + idx . to.strides]. The one kernel of flip, pad, diagonal and diagonal's adjoint.
template <class T>
void copy_strided(const T* src, const Walk& from, T* dst, const Walk& to, const Shape& extent) {
    const std::size_t n = extent.size();
    if (n == 0) {
        dst[to.offset] = src[from.offset];
        return;
    }
    if (std::find(extent.begin(), extent.end(), std::size_t{0}) != extent.end()) return;
    const std::size_t last = n - 1;
    const auto len = static_cast<std::ptrdiff_t>(extent[last]);
    const std::ptrdiff_t fs = from.strides[last], ts = to.strides[last];
    Shape idx(n, 0);
    std::ptrdiff_t s = from.offset, d = to.offset;
    for (;;) {
        for (std::ptrdiff_t i = 0; i < len; ++i) dst[d + i * ts] = src[s + i * fs];
        std::size_t k = last;  // the odometer over the outer dims
        for (;;) {
            if (k == 0) return;
            --k;
            s += from.strides[k];
            d += to.strides[k];
            if (++idx[k] < extent[k]) break;
            const auto e = static_cast<std::ptrdiff_t>(extent[k]);
            s -= from.strides[k] * e;
            d -= to.strides[k] * e;
            idx[k] = 0;
        }
    }
}

/// Normalized dims, each at most once; else ValueError naming op, the argument and x's shape.
Dims distinct_dims(const char* op, const char* arg, const Dims& dims, const Shape& shape) {
    Dims out;
    for (const std::int64_t dim : dims) {
        const auto d = static_cast<std::int64_t>(normalize_dim(op, "x", dim, shape));
        if (std::find(out.begin(), out.end(), d) != out.end()) {
            fail<ValueError>("{}: {} [{}] names dim {} more than once (x has shape {})", op, arg, fmt::join(dims, ", "),
                             d, shape_str(shape));
        }
        out.push_back(d);
    }
    return out;
}

std::int64_t size_of(const Shape& shape, std::size_t dim) {
    return static_cast<std::int64_t>(shape[dim]);
}

/// n / d rounded up, for n >= 0 and d > 0 (without overflow for any d).
std::int64_t ceil_div(std::int64_t n, std::int64_t d) {
    return n / d + (n % d != 0 ? 1 : 0);
}

/// The flip of x along the (normalized, distinct) dims.
template <class T>
Tensor<T> flip_dims(const Tensor<T>& x, const Dims& dims) {
    const Shape& shape = x.shape();
    Walk from = contiguous(shape);
    for (const std::int64_t dim : dims) {
        const auto d = static_cast<std::size_t>(dim);
        if (shape[d] > 0) from.offset += (size_of(shape, d) - 1) * from.strides[d];
        from.strides[d] = -from.strides[d];
    }
    xt::xarray<T> out = detail::take_buffer<T>("flip", shape);
    copy_strided(x.value().data(), from, out.data(), contiguous(shape), shape);
    return record<T>(
        "flip", {x}, std::move(out),
        [dims](const Backward<T>& ctx) -> Grads<T> { return {flip_dims(ctx.grad(), dims)}; },
        [dims](const Forward<T>& ctx) { return flip_dims(ctx.tangent(0), dims); });
}

/// The walk over x's diagonal in the (d1, d2) planes, and the diagonal's shape: x's other dims,
/// then the diagonal's length.
struct DiagonalLayout {
    Walk walk;
    Shape shape;
};

DiagonalLayout diagonal_layout(const Shape& x, std::int64_t offset, std::size_t d1, std::size_t d2) {
    const Strides xs = strides_of(x);
    const std::int64_t n1 = size_of(x, d1), n2 = size_of(x, d2);
    const std::int64_t length =
        std::max<std::int64_t>(0, offset >= 0 ? std::min(n1, n2 - offset) : std::min(n1 + offset, n2));
    DiagonalLayout layout;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (i == d1 || i == d2) continue;
        layout.shape.push_back(x[i]);
        layout.walk.strides.push_back(xs[i]);
    }
    layout.shape.push_back(static_cast<std::size_t>(length));
    layout.walk.strides.push_back(xs[d1] + xs[d2]);
    if (length > 0) layout.walk.offset = offset >= 0 ? offset * xs[d2] : -offset * xs[d1];
    return layout;
}

template <class T>
Tensor<T> diagonal_dims(const Tensor<T>& x, std::int64_t offset, std::size_t d1, std::size_t d2);

/// The adjoint of diagonal: g placed on the diagonal of a zero tensor of `shape`.
///   d/dg = diagonal(grad, offset, d1, d2)      tangent: diagonal_backward(dg) (linear)
template <class T>
Tensor<T> diagonal_backward(const Tensor<T>& g, const Shape& shape, std::int64_t offset, std::size_t d1,
                            std::size_t d2) {
    const DiagonalLayout layout = diagonal_layout(shape, offset, d1, d2);
    xt::xarray<T> out = detail::take_buffer<T>("diagonal_backward", shape);
    out.fill(T(0));
    copy_strided(g.value().data(), contiguous(layout.shape), out.data(), layout.walk, layout.shape);
    return record<T>(
        "diagonal_backward", {g}, std::move(out),
        [offset, d1, d2](const Backward<T>& ctx) -> Grads<T> { return {diagonal_dims(ctx.grad(), offset, d1, d2)}; },
        [shape, offset, d1, d2](const Forward<T>& ctx) {
            return diagonal_backward(ctx.tangent(0), shape, offset, d1, d2);
        });
}

template <class T>
Tensor<T> diagonal_dims(const Tensor<T>& x, std::int64_t offset, std::size_t d1, std::size_t d2) {
    const DiagonalLayout layout = diagonal_layout(x.shape(), offset, d1, d2);
    xt::xarray<T> out = detail::take_buffer<T>("diagonal", layout.shape);
    copy_strided(x.value().data(), layout.walk, out.data(), contiguous(layout.shape), layout.shape);
    return record<T>(
        "diagonal", {x}, std::move(out),
        [offset, d1, d2](const Backward<T>& ctx) -> Grads<T> {
            return {diagonal_backward(ctx.grad(), ctx.input(0).shape(), offset, d1, d2)};
        },
        [offset, d1, d2](const Forward<T>& ctx) { return diagonal_dims(ctx.tangent(0), offset, d1, d2); });
}

/// tril (lower) or triu: x with the elements outside the triangle of the last two dims set to 0.
template <class T>
Tensor<T> triangle(const char* op, const Tensor<T>& x, std::int64_t diagonal, bool lower) {
    check_defined(op, "x", x);
    if (x.ndim() < 2) {
        fail<ShapeError>("{}: x has shape {}; expected at least 2 dims (the last two are the matrix)", op,
                         shape_str(x.shape()));
    }
    const std::size_t rows = x.shape()[x.ndim() - 2], cols = x.shape()[x.ndim() - 1];
    xt::xarray<T> out = detail::take_buffer<T>(op, x.shape());
    const T* src = x.value().data();
    T* dst = out.data();
    const std::size_t matrices = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
    for (std::size_t m = 0; m < matrices; ++m) {
        for (std::size_t i = 0; i < rows; ++i) {
            for (std::size_t j = 0; j < cols; ++j) {
                const std::int64_t above = static_cast<std::int64_t>(j) - static_cast<std::int64_t>(i);
                const bool keep = lower ? above <= diagonal : above >= diagonal;
                const std::size_t at = (m * rows + i) * cols + j;
                dst[at] = keep ? src[at] : T(0);
            }
        }
    }
    return record<T>(
        op, {x}, std::move(out),
        [op, diagonal, lower](const Backward<T>& ctx) -> Grads<T> {
            return {triangle(op, ctx.grad(), diagonal, lower)};
        },
        [op, diagonal, lower](const Forward<T>& ctx) { return triangle(op, ctx.tangent(0), diagonal, lower); });
}

/// repeat and tile once the repeats are known to cover x's dims: x reshaped to [1, s0, 1, s1, ...],
/// broadcast to [r0, s0, r1, s1, ...] and reshaped to [r0 s0, r1 s1, ...].
template <class T>
Tensor<T> repeat_dims(const char* op, const char* arg, const Tensor<T>& x, const std::vector<std::int64_t>& repeats) {
    const std::size_t lead = repeats.size() - x.ndim();
    Shape spread, repeated, result;
    for (std::size_t i = 0; i < repeats.size(); ++i) {
        if (repeats[i] < 0) {
            fail<ValueError>("{}: {} [{}] has a negative entry (x has shape {})", op, arg, fmt::join(repeats, ", "),
                             shape_str(x.shape()));
        }
        const std::size_t size = i < lead ? 1 : x.shape()[i - lead];
        const auto r = static_cast<std::size_t>(repeats[i]);
        spread.push_back(1);
        spread.push_back(size);
        repeated.push_back(r);
        repeated.push_back(size);
        result.push_back(r * size);
    }
    numel(op, repeated);  // a ValueError naming op before anything is recorded when it cannot be indexed
    return reshape(broadcast_to(reshape(x, spread), repeated), result);
}

/// The pieces of x of the given (checked) sizes along d.
template <class T>
std::vector<Tensor<T>> pieces(const Tensor<T>& x, const std::vector<std::int64_t>& sizes, std::size_t d) {
    std::vector<Tensor<T>> out;
    out.reserve(sizes.size());
    std::int64_t at = 0;
    for (const std::int64_t size : sizes) {
        out.push_back(slice(x, static_cast<std::int64_t>(d), at, at + size));
        at += size;
    }
    return out;
}

/// The pieces of split_size along d (PyTorch's count: at least one).
template <class T>
std::vector<Tensor<T>> split_even(const char* op, const Tensor<T>& x, std::int64_t split_size, std::size_t d) {
    const std::int64_t size = size_of(x.shape(), d);
    if (split_size == 0 && size != 0) {
        fail<ValueError>("{}: split_size 0 is allowed only for a dim of size 0, and dim {} of x (shape {}) has size {}",
                         op, d, shape_str(x.shape()), size);
    }
    const std::int64_t count = split_size == 0 ? 1 : std::max<std::int64_t>(ceil_div(size, split_size), 1);
    std::vector<std::int64_t> sizes;
    for (std::int64_t k = 0; k < count; ++k) sizes.push_back(std::min(split_size, size - k * split_size));
    return pieces(x, sizes, d);
}

/// pad's list: defined x, (before, after) pairs, at most one per dim of x; else ValueError.
template <class T>
void check_pad_list(const Tensor<T>& x, const std::vector<std::int64_t>& pad) {
    check_defined("pad", "x", x);
    if (pad.size() % 2 != 0) {
        fail<ValueError>("pad: pad [{}] has odd length {}; it holds (before, after) pairs, last dim first",
                         fmt::join(pad, ", "), pad.size());
    }
    if (pad.size() / 2 > x.ndim()) {
        fail<ValueError>("pad: pad [{}] has {} pairs, more than x (shape {}) has dims", fmt::join(pad, ", "),
                         pad.size() / 2, shape_str(x.shape()));
    }
}

}  // namespace

template <class T>
Tensor<T> flatten(const Tensor<T>& x, std::int64_t start_dim, std::int64_t end_dim) {
    check_defined("flatten", "x", x);
    if (x.ndim() == 0) {  // PyTorch: a 0-d tensor flattens to [1], with dims 0 or -1
        const Shape one{1};
        normalize_dim("flatten", "x (0-d, flattened as [1])", start_dim, one);
        normalize_dim("flatten", "x (0-d, flattened as [1])", end_dim, one);
        return reshape(x, one);
    }
    const std::size_t start = normalize_dim("flatten", "x", start_dim, x.shape());
    const std::size_t end = normalize_dim("flatten", "x", end_dim, x.shape());
    if (start > end) {
        fail<ValueError>("flatten: start_dim {} comes after end_dim {} for x of shape {}", start_dim, end_dim,
                         shape_str(x.shape()));
    }
    Shape shape(x.shape().begin(), x.shape().begin() + static_cast<std::ptrdiff_t>(start));
    std::size_t merged = 1;
    for (std::size_t i = start; i <= end; ++i) merged *= x.shape()[i];
    shape.push_back(merged);
    shape.insert(shape.end(), x.shape().begin() + static_cast<std::ptrdiff_t>(end + 1), x.shape().end());
    return reshape(x, shape);
}

template <class T>
Tensor<T> unflatten(const Tensor<T>& x, std::int64_t dim, const std::vector<std::int64_t>& sizes) {
    check_defined("unflatten", "x", x);
    const std::size_t d = normalize_dim("unflatten", "x", dim, x.shape());
    const std::size_t size = x.shape()[d];
    auto refuse = [&](const char* why) {
        fail<ShapeError>("unflatten: sizes [{}] for dim {} of x (shape {}, size {}): {}", fmt::join(sizes, ", "), d,
                         shape_str(x.shape()), size, why);
    };
    if (sizes.empty()) refuse("sizes is empty");
    std::size_t inferred = sizes.size(), known = 1;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (sizes[i] == -1 && inferred == sizes.size()) {
            inferred = i;
        } else if (sizes[i] < 0) {
            refuse(sizes[i] == -1 ? "only one size can be -1" : "a size is negative");
        } else {
            known *= static_cast<std::size_t>(sizes[i]);
        }
    }
    Shape parts;
    for (const std::int64_t s : sizes) parts.push_back(static_cast<std::size_t>(s));
    if (inferred < sizes.size()) {
        if (known == 0 || size % known != 0) refuse("no size in place of the -1 fits");
        parts[inferred] = size / known;
    } else if (known != size) {
        refuse("their product is not the dim's size");
    }
    Shape shape(x.shape().begin(), x.shape().begin() + static_cast<std::ptrdiff_t>(d));
    shape.insert(shape.end(), parts.begin(), parts.end());
    shape.insert(shape.end(), x.shape().begin() + static_cast<std::ptrdiff_t>(d + 1), x.shape().end());
    return reshape(x, shape);
}

template <class T>
Tensor<T> expand(const Tensor<T>& x, const std::vector<std::int64_t>& sizes) {
    check_defined("expand", "x", x);
    if (sizes.size() < x.ndim()) {
        fail<ShapeError>("expand: sizes [{}] have fewer dims than x (shape {})", fmt::join(sizes, ", "),
                         shape_str(x.shape()));
    }
    const std::size_t lead = sizes.size() - x.ndim();
    Shape shape(sizes.size(), 1);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const std::int64_t s = sizes[i];
        if (s < -1 || (s == -1 && i < lead)) {
            fail<ValueError>("expand: size {} at position {} of sizes [{}] is invalid for x of shape {}{}", s, i,
                             fmt::join(sizes, ", "), shape_str(x.shape()),
                             s == -1 ? " (-1 keeps a size, and a new leading dim has none)" : "");
        }
        const std::size_t have = i < lead ? 1 : x.shape()[i - lead];
        shape[i] = s == -1 ? have : static_cast<std::size_t>(s);
        if (i >= lead && have != shape[i] && have != 1) {
            fail<ShapeError>(
                "expand: dim {} of x (shape {}) has size {}, which cannot expand to {} in [{}] (only a "
                "dim of size 1 expands)",
                i - lead, shape_str(x.shape()), have, s, fmt::join(sizes, ", "));
        }
    }
    numel("expand", shape);
    return broadcast_to(x, shape);
}

template <class T>
Tensor<T> repeat(const Tensor<T>& x, const std::vector<std::int64_t>& repeats) {
    check_defined("repeat", "x", x);
    if (repeats.size() < x.ndim()) {
        fail<ValueError>("repeat: repeats [{}] has fewer entries than x (shape {}) has dims", fmt::join(repeats, ", "),
                         shape_str(x.shape()));
    }
    return repeat_dims("repeat", "repeats", x, repeats);
}

template <class T>
Tensor<T> tile(const Tensor<T>& x, const std::vector<std::int64_t>& reps) {
    check_defined("tile", "x", x);
    if (reps.size() >= x.ndim()) return repeat_dims("tile", "reps", x, reps);
    std::vector<std::int64_t> padded(x.ndim() - reps.size(), 1);
    padded.insert(padded.end(), reps.begin(), reps.end());
    return repeat_dims("tile", "reps", x, padded);
}

template <class T>
Tensor<T> pad(const Tensor<T>& x, const std::vector<std::int64_t>& pad, std::type_identity_t<T> value) {
    check_pad_list(x, pad);
    const std::size_t n = x.ndim();
    Shape shape = x.shape(), extent = x.shape();
    const Strides xs = strides_of(x.shape());
    Walk from{0, xs}, to;
    std::vector<std::int64_t> negated(pad.size());
    Shape before(n, 0);  // where x's first kept element lands, per dim
    for (std::size_t p = 0; p < pad.size() / 2; ++p) {
        const std::size_t d = n - 1 - p;
        const std::int64_t lo = pad[2 * p], hi = pad[2 * p + 1], size = size_of(x.shape(), d);
        const std::int64_t kept = size + std::min<std::int64_t>(lo, 0) + std::min<std::int64_t>(hi, 0);
        if (kept < 0) {
            fail<ShapeError>("pad: pad [{}] crops {} and {} from dim {} of x (shape {}), which has only {}",
                             fmt::join(pad, ", "), std::max<std::int64_t>(-lo, 0), std::max<std::int64_t>(-hi, 0), d,
                             shape_str(x.shape()), size);
        }
        shape[d] = static_cast<std::size_t>(size + lo + hi);
        extent[d] = static_cast<std::size_t>(kept);
        from.offset += std::max<std::int64_t>(-lo, 0) * xs[d];
        before[d] = static_cast<std::size_t>(std::max<std::int64_t>(lo, 0));
        negated[2 * p] = -lo;
        negated[2 * p + 1] = -hi;
    }
    to.strides = strides_of(shape);
    for (std::size_t d = 0; d < n; ++d) to.offset += static_cast<std::ptrdiff_t>(before[d]) * to.strides[d];
    xt::xarray<T> out = detail::take_buffer<T>("pad", shape);
    out.fill(value);
    copy_strided(x.value().data(), from, out.data(), to, extent);
    return record<T>(
        "pad", {x}, std::move(out),
        [negated](const Backward<T>& ctx) -> Grads<T> { return {tapegrad::pad(ctx.grad(), negated, T(0))}; },
        [amounts = pad](const Forward<T>& ctx) { return tapegrad::pad(ctx.tangent(0), amounts, T(0)); });
}

template <class T>
Tensor<T> pad(const Tensor<T>& x, const std::vector<std::int64_t>& pad, PadMode mode, std::type_identity_t<T> value) {
    if (mode == PadMode::Constant) return tapegrad::pad(x, pad, value);
    check_pad_list(x, pad);
    const std::size_t n = x.ndim();
    for (std::size_t p = 0; p < pad.size() / 2; ++p) {
        const std::size_t d = n - 1 - p;
        const std::int64_t lo = pad[2 * p], hi = pad[2 * p + 1], size = size_of(x.shape(), d);
        if (lo < 0 || hi < 0 || (lo > 0 && lo >= size) || (hi > 0 && hi >= size)) {
            fail<ValueError>(
                "pad: reflect padding [{}] puts {} and {} on dim {} of x (shape {}); each must be at least "
                "0 and less than the dim's size {}",
                fmt::join(pad, ", "), lo, hi, d, shape_str(x.shape()), size);
        }
    }
    Tensor<T> y = x;
    bool padded = false;
    for (std::size_t p = 0; p < pad.size() / 2; ++p) {
        const auto d = static_cast<std::int64_t>(n - 1 - p);
        const std::int64_t lo = pad[2 * p], hi = pad[2 * p + 1], size = size_of(x.shape(), n - 1 - p);
        if (lo == 0 && hi == 0) continue;
        std::vector<Tensor<T>> parts;
        if (lo > 0) parts.push_back(flip_dims(slice(y, d, 1, 1 + lo), Dims{d}));
        parts.push_back(y);
        if (hi > 0) parts.push_back(flip_dims(slice(y, d, size - 1 - hi, size - 1), Dims{d}));
        y = concat(parts, d);
        padded = true;
    }
    return padded ? y : clone(x);
}

template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, std::int64_t split_size, std::int64_t dim) {
    check_defined("split", "x", x);
    const std::size_t d = normalize_dim("split", "x", dim, x.shape());
    if (split_size < 0) {
        fail<ValueError>("split: split_size {} is negative (x has shape {})", split_size, shape_str(x.shape()));
    }
    return split_even("split", x, split_size, d);
}

template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<std::int64_t>& sizes, std::int64_t dim) {
    check_defined("split", "x", x);
    const std::size_t d = normalize_dim("split", "x", dim, x.shape());
    std::int64_t total = 0;
    for (const std::int64_t s : sizes) {
        if (s < 0) {
            fail<ValueError>("split: sizes [{}] holds a negative size (x has shape {})", fmt::join(sizes, ", "),
                             shape_str(x.shape()));
        }
        total += s;
    }
    if (total != size_of(x.shape(), d)) {
        fail<ShapeError>("split: sizes [{}] sum to {}, but dim {} of x (shape {}) has size {}", fmt::join(sizes, ", "),
                         total, d, shape_str(x.shape()), x.shape()[d]);
    }
    return pieces(x, sizes, d);
}

template <class T>
std::vector<Tensor<T>> chunk(const Tensor<T>& x, std::int64_t chunks, std::int64_t dim) {
    check_defined("chunk", "x", x);
    const std::size_t d = normalize_dim("chunk", "x", dim, x.shape());
    if (chunks <= 0) {
        fail<ValueError>("chunk: chunks is {}; expected at least 1 (x has shape {})", chunks, shape_str(x.shape()));
    }
    const std::int64_t size = size_of(x.shape(), d);
    if (size == 0) return pieces(x, std::vector<std::int64_t>(static_cast<std::size_t>(chunks), 0), d);
    return split_even("chunk", x, ceil_div(size, chunks), d);
}

template <class T>
Tensor<T> narrow(const Tensor<T>& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
    check_defined("narrow", "x", x);
    const std::size_t d = normalize_dim("narrow", "x", dim, x.shape());
    const std::int64_t size = size_of(x.shape(), d);
    if (start < -size || start > size) {
        fail<ValueError>("narrow: start {} is out of range for dim {} of x (shape {}) (expected {}..{})", start, d,
                         shape_str(x.shape()), -size, size);
    }
    const std::int64_t from = start < 0 ? start + size : start;
    if (length < 0 || length > size - from) {
        fail<ValueError>("narrow: length {} from start {} does not fit in dim {} of x (shape {}), of size {}", length,
                         start, d, shape_str(x.shape()), size);
    }
    return slice(x, static_cast<std::int64_t>(d), from, from + length);
}

template <class T>
Tensor<T> roll(const Tensor<T>& x, const std::vector<std::int64_t>& shifts, const Dims& dims) {
    check_defined("roll", "x", x);
    if (dims.empty()) {
        if (shifts.size() != 1) {
            fail<ValueError>("roll: shifts [{}] without dims must hold one shift (x of shape {} is rolled flattened)",
                             fmt::join(shifts, ", "), shape_str(x.shape()));
        }
        return reshape(tapegrad::roll(reshape(x, Shape{x.numel()}), shifts, Dims{0}), x.shape());
    }
    if (shifts.size() != dims.size()) {
        fail<ValueError>("roll: shifts [{}] and dims [{}] differ in length (x has shape {})", fmt::join(shifts, ", "),
                         fmt::join(dims, ", "), shape_str(x.shape()));
    }
    Dims normalized;
    for (const std::int64_t dim : dims) {
        normalized.push_back(static_cast<std::int64_t>(normalize_dim("roll", "x", dim, x.shape())));
    }
    Tensor<T> y = x;
    bool rolled = false;
    for (std::size_t k = 0; k < dims.size(); ++k) {
        const std::int64_t d = normalized[k], size = size_of(x.shape(), static_cast<std::size_t>(d));
        if (size == 0) continue;
        const std::int64_t s = ((shifts[k] % size) + size) % size;
        if (s == 0) continue;
        y = concat(std::vector<Tensor<T>>{slice(y, d, size - s), slice(y, d, 0, size - s)}, d);
        rolled = true;
    }
    return rolled ? y : clone(x);
}

template <class T>
Tensor<T> flip(const Tensor<T>& x, const Dims& dims) {
    check_defined("flip", "x", x);
    return flip_dims(x, distinct_dims("flip", "dims", dims, x.shape()));
}

template <class T>
Tensor<T> diagonal(const Tensor<T>& x, std::int64_t offset, std::int64_t dim1, std::int64_t dim2) {
    check_defined("diagonal", "x", x);
    const std::size_t d1 = normalize_dim("diagonal", "x", dim1, x.shape());
    const std::size_t d2 = normalize_dim("diagonal", "x", dim2, x.shape());
    if (d1 == d2) {
        fail<ValueError>("diagonal: dim1 {} and dim2 {} are the same dim {} of x (shape {})", dim1, dim2, d1,
                         shape_str(x.shape()));
    }
    return diagonal_dims(x, offset, d1, d2);
}

template <class T>
Tensor<T> tril(const Tensor<T>& x, std::int64_t diagonal) {
    return triangle("tril", x, diagonal, true);
}

template <class T>
Tensor<T> triu(const Tensor<T>& x, std::int64_t diagonal) {
    return triangle("triu", x, diagonal, false);
}

template <class T>
Tensor<T> movedim(const Tensor<T>& x, std::int64_t source, std::int64_t destination) {
    return movedim(x, Dims{source}, Dims{destination});
}

template <class T>
Tensor<T> movedim(const Tensor<T>& x, const Dims& source, const Dims& destination) {
    check_defined("movedim", "x", x);
    if (source.size() != destination.size()) {
        fail<ValueError>("movedim: source [{}] and destination [{}] differ in length (x has shape {})",
                         fmt::join(source, ", "), fmt::join(destination, ", "), shape_str(x.shape()));
    }
    const Dims from = distinct_dims("movedim", "source", source, x.shape());
    const Dims to = distinct_dims("movedim", "destination", destination, x.shape());
    const auto n = static_cast<std::int64_t>(x.ndim());
    Dims order(x.ndim(), -1);
    std::vector<bool> moved(x.ndim(), false);
    for (std::size_t k = 0; k < from.size(); ++k) {
        order[static_cast<std::size_t>(to[k])] = from[k];
        moved[static_cast<std::size_t>(from[k])] = true;
    }
    std::int64_t next = 0;  // the dims not moved fill the free places in their order
    for (auto& o : order) {
        if (o != -1) continue;
        while (next < n && moved[static_cast<std::size_t>(next)]) ++next;
        o = next++;
    }
    for (std::int64_t i = 0; i < n; ++i) {
        if (order[static_cast<std::size_t>(i)] != i) return permute(x, order);
    }
    return clone(x);  // nothing moves (a 0-d x among them)
}

template <class T>
Tensor<T> clone(const Tensor<T>& x) {
    check_defined("clone", "x", x);
    xt::xarray<T> out = detail::evaluate<T>("clone", x.value());
    return record<T>(
        "clone", {x}, std::move(out), [](const Backward<T>& ctx) -> Grads<T> { return {ctx.grad()}; },
        [](const Forward<T>& ctx) { return clone(ctx.tangent(0)); });
}

#define TAPEGRAD_INSTANTIATE(T)                                                                              \
    template Tensor<T> flatten(const Tensor<T>&, std::int64_t, std::int64_t);                                \
    template Tensor<T> unflatten(const Tensor<T>&, std::int64_t, const std::vector<std::int64_t>&);          \
    template Tensor<T> expand(const Tensor<T>&, const std::vector<std::int64_t>&);                           \
    template Tensor<T> repeat(const Tensor<T>&, const std::vector<std::int64_t>&);                           \
    template Tensor<T> tile(const Tensor<T>&, const std::vector<std::int64_t>&);                             \
    template Tensor<T> pad(const Tensor<T>&, const std::vector<std::int64_t>&, T);                           \
    template Tensor<T> pad(const Tensor<T>&, const std::vector<std::int64_t>&, PadMode, T);                  \
    template std::vector<Tensor<T>> split(const Tensor<T>&, std::int64_t, std::int64_t);                     \
    template std::vector<Tensor<T>> split(const Tensor<T>&, const std::vector<std::int64_t>&, std::int64_t); \
    template std::vector<Tensor<T>> chunk(const Tensor<T>&, std::int64_t, std::int64_t);                     \
    template Tensor<T> narrow(const Tensor<T>&, std::int64_t, std::int64_t, std::int64_t);                   \
    template Tensor<T> roll(const Tensor<T>&, const std::vector<std::int64_t>&, const Dims&);                \
    template Tensor<T> flip(const Tensor<T>&, const Dims&);                                                  \
    template Tensor<T> diagonal(const Tensor<T>&, std::int64_t, std::int64_t, std::int64_t);                 \
    template Tensor<T> tril(const Tensor<T>&, std::int64_t);                                                 \
    template Tensor<T> triu(const Tensor<T>&, std::int64_t);                                                 \
    template Tensor<T> movedim(const Tensor<T>&, std::int64_t, std::int64_t);                                \
    template Tensor<T> movedim(const Tensor<T>&, const Dims&, const Dims&);                                  \
    template Tensor<T> clone(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
