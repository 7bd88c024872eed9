#include <tapegrad/autograd/buffer_pool.hpp>

#include <unordered_map>
#include <utility>
#include <vector>

#include <tapegrad/autograd/small_pool.hpp>

namespace tapegrad {

namespace {

using detail::kPooling;

// Set by the first pool destroyed at thread exit: tensors destroyed after it (statics, other
// thread_locals) free their buffers instead. A trivially destructible flag stays readable then.
constinit thread_local bool pools_gone = false;

template <class T>
struct Pool {
    std::unordered_map<std::size_t, std::vector<xt::xarray<T>>> free;  // by element count
    std::size_t bytes = 0;
    ~Pool() { pools_gone = true; }
};

template <class T>
Pool<T>* pool() {
    if (!kPooling || pools_gone) return nullptr;
    thread_local Pool<T> p;
    return &p;
}

template <class T>
void release(Pool<T>* p) {
    if (!p) return;
    p->free.clear();
    p->bytes = 0;
}

}  // namespace

void release_cached_buffers() {
    release(pool<float>());
    release(pool<double>());
}

template <class T>
std::size_t cached_buffer_bytes() {
    const auto* p = pool<T>();
    return p ? p->bytes : 0;
}

namespace detail {

template <class T, class S>
xt::xarray<T> take(std::size_t n, const S& shape) {
    if (auto* p = pool<T>(); p && n > 0) {
        if (auto it = p->free.find(n); it != p->free.end() && !it->second.empty()) {
            xt::xarray<T> out = std::move(it->second.back());
            it->second.pop_back();
            p->bytes -= n * sizeof(T);
            out.resize(shape);  // same element count: the storage is kept, only shape and strides change
            return out;
        }
    }
    return xt::xarray<T>::from_shape(shape);
}

template <class T>
xt::xarray<T> take_buffer(const char* op, const Shape& shape) {
    const std::size_t n = numel(op, shape);
    return allocating<T>(op, shape, [&] { return take<T>(n, shape); });
}

template <class T>
xt::xarray<T> take_buffer_like(const char* op, const xt::xarray<T>& like) {
    return allocating<T>(op, like.shape(), [&] { return take<T>(like.size(), like.shape()); });
}

template <class T>
void give_buffer(xt::xarray<T>& array) noexcept {
    auto* p = pool<T>();
    const std::size_t n = array.size();
    if (!p || n == 0 || p->bytes + n * sizeof(T) > kBufferPoolBytes) return;
    try {
        auto& same = p->free[n];
        if (same.size() >= kBuffersPerSize) return;
        same.push_back(std::move(array));
        p->bytes += n * sizeof(T);
    } catch (...) {
        // Out of memory for the bookkeeping: the array is still ours and frees normally.
    }
}

}  // namespace detail

#define TAPEGRAD_INSTANTIATE(T)                                                         \
    template std::size_t cached_buffer_bytes<T>();                                      \
    template xt::xarray<T> detail::take_buffer(const char*, const Shape&);              \
    template xt::xarray<T> detail::take_buffer_like(const char*, const xt::xarray<T>&); \
    template void detail::give_buffer(xt::xarray<T>&) noexcept;
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
