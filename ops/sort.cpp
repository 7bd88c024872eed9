#include <tapegrad/ops/sort.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

#include <tapegrad/ops/reduction.hpp>

namespace tapegrad {

namespace {

/// a before b in ascending order with NaN last; ties are left to the caller (index order).
template <class T>
bool ascending(T a, T b) {
    return !std::isnan(a) && (std::isnan(b) || a < b);
}

/// For each slice along d, the indices of its first k elements in sorted order (ascending, or
/// descending), ties by index: the Indices of x's shape with d of size k.
template <class T>
Indices sorted_indices(const Tensor<T>& x, std::size_t d, std::size_t k, bool descending) {
    const detail::AlongDim a = detail::along_dim(x.shape(), d);
    Shape shape = x.shape();
    shape[d] = k;
    Indices out(xt::xarray<std::int64_t>::from_shape(shape));
    std::int64_t* dst = out.mutable_value().data();
    const T* src = x.value().data();
    std::vector<std::int64_t> order(a.size);
    std::vector<T> slice(a.size);
    for (std::size_t o = 0; o < a.outer; ++o) {
        for (std::size_t i = 0; i < a.inner; ++i) {
            for (std::size_t j = 0; j < a.size; ++j) slice[j] = src[(o * a.size + j) * a.inner + i];
            std::iota(order.begin(), order.end(), std::int64_t{0});
            // Equal values (and NaNs) compare by index: a stable order for sort and topk alike.
            auto before = [&slice, descending](std::int64_t p, std::int64_t q) {
                const T u = slice[static_cast<std::size_t>(p)], v = slice[static_cast<std::size_t>(q)];
                if (descending ? ascending(v, u) : ascending(u, v)) return true;
                if (descending ? ascending(u, v) : ascending(v, u)) return false;
                return p < q;
            };
            const auto mid = order.begin() + static_cast<std::ptrdiff_t>(k);
            if (k == a.size) {
                std::sort(order.begin(), order.end(), before);
            } else {
                std::partial_sort(order.begin(), mid, order.end(), before);
            }
            for (std::size_t j = 0; j < k; ++j) dst[(o * k + j) * a.inner + i] = order[j];
        }
    }
    return out;
}

template <class T>
ValuesAndIndices<T> select_sorted(const char* op, const Tensor<T>& x, std::size_t d, std::size_t k, bool descending) {
    auto index = std::make_shared<const Indices>(sorted_indices(x, d, k, descending));
    return {detail::take_along(op, x, index, d, index->shape()), *index};
}

}  // namespace

template <class T>
ValuesAndIndices<T> sort(const Tensor<T>& x, std::int64_t dim, bool descending, bool /*stable*/) {
    const std::size_t d = detail::checked_dim("sort", x, dim);
    return select_sorted("sort", x, d, x.shape()[d], descending);
}

template <class T>
ValuesAndIndices<T> topk(const Tensor<T>& x, std::int64_t k, std::int64_t dim, bool largest, bool /*sorted*/) {
    const std::size_t d = detail::checked_dim("topk", x, dim);
    const auto size = static_cast<std::int64_t>(x.shape()[d]);
    if (k < 0 || k > size) {
        fail<ValueError>("topk: k = {} is out of range for dim {} of x, of size {} (x has shape {}; expected 0..{})", k,
                         d, size, shape_str(x.shape()), size);
    }
    return select_sorted("topk", x, d, static_cast<std::size_t>(k), largest);
}

#define TAPEGRAD_INSTANTIATE(T)                                                    \
    template ValuesAndIndices<T> sort(const Tensor<T>&, std::int64_t, bool, bool); \
    template ValuesAndIndices<T> topk(const Tensor<T>&, std::int64_t, std::int64_t, bool, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
