/// \file
/// Freed tensor buffers kept for reuse, per thread. A training step allocates the same sizes every
/// step (activations, their gradients, the weight gradients), so after the first steps the ops take
/// their output buffers from here instead of malloc, and a 64 MB weight gradient is not mapped and
/// page-faulted again each step. PyTorch's CUDA caching allocator does the same for the GPU.
#pragma once

#include <cstddef>
#include <new>

#include <xtensor/xarray.hpp>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad {

/// Most bytes of freed buffers one thread keeps, per dtype; a buffer that would exceed it is freed.
inline constexpr std::size_t kBufferPoolBytes = std::size_t{256} << 20;
/// Most freed buffers kept per element count. Not every array is made from the pool (xtensor
/// expressions allocate their own), so without a bound a size given back more often than taken
/// would pile up; a step rarely holds more buffers of one size than this at once.
inline constexpr std::size_t kBuffersPerSize = 64;

/// Frees every buffer this thread's pool holds (torch.cuda.empty_cache), e.g. after training.
void release_cached_buffers();

/// Bytes this thread's pool holds for dtype T (for tests and diagnostics).
template <class T>
std::size_t cached_buffer_bytes();

namespace detail {

/// An uninitialised array of this shape for op `op`: a pooled buffer of the same element count
/// when there is one, else a new one. Throws ValueError for a shape too large to index (numel()),
/// and ResourceError naming the op, the shape and the bytes when the allocation fails.
template <class T>
xt::xarray<T> take_buffer(const char* op, const Shape& shape);

/// The same, shaped like `like` (which is only read).
template <class T>
xt::xarray<T> take_buffer_like(const char* op, const xt::xarray<T>& like);

/// Runs make() and turns a std::bad_alloc from it into a ResourceError naming op, shape and bytes:
/// every allocation of an op's output goes through here (or take_buffer), so `catch (const
/// tapegrad::Error&)` sees running out of memory too.
template <class T, class F>
auto allocating(const char* op, const Shape& shape, F&& make) -> decltype(make()) {
    try {
        return make();
    } catch (const std::bad_alloc&) {
        const long double bytes = static_cast<long double>(numel(op, shape)) * sizeof(T);
        fail<ResourceError>("{}: out of memory allocating a {} tensor of shape {} ({:.0f} bytes)", op,
                            sizeof(T) == 4 ? "float32" : "float64", shape_str(shape), bytes);
    }
}

/// Keeps the array's buffer for reuse (leaving the array empty) unless the pool is full, the
/// thread is exiting, or the build runs under AddressSanitizer (which must see every free).
template <class T>
void give_buffer(xt::xarray<T>& array) noexcept;

/// An op's intermediate array: taken from the pool like an output, and given back when it goes out
/// of scope (an output goes back through its tensor). Without it, a scratch array taken from the
/// pool would be freed to malloc, and the pool would come up short the next step.
template <class T>
class Scratch {
public:
    /// Adopts an array (from take_buffer, evaluate or reduce_dims).
    Scratch(xt::xarray<T>&& array) : array_(std::move(array)) {}
    ~Scratch() { give_buffer(array_); }
    Scratch(Scratch&&) noexcept = default;
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    Scratch& operator=(Scratch&&) = delete;
    /// The array.
    xt::xarray<T>& operator*() noexcept { return array_; }
    /// The array, read-only.
    const xt::xarray<T>& operator*() const noexcept { return array_; }

private:
    xt::xarray<T> array_;
};

}  // namespace detail

}  // namespace tapegrad
