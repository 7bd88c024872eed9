// Freed tensor buffers kept for reuse, per thread. A training step allocates the same sizes every
// step (activations, their gradients, the weight gradients), so after the first steps the ops take
// their output buffers from here instead of malloc, and a 64 MB weight gradient is not mapped and
// page-faulted again each step. PyTorch's CUDA caching allocator does the same for the GPU.
#pragma once

#include <cstddef>

#include <xtensor/xarray.hpp>

#include "autograd/errors.hpp"

namespace tapegrad {

/// Most bytes of freed buffers one thread keeps, per dtype; a buffer that would exceed it is freed.
inline constexpr std::size_t kBufferPoolBytes = std::size_t{256} << 20;
/// Most freed buffers kept per element count. Not every array is made from the pool (xtensor
/// expressions allocate their own), so without a bound a size given back more often than taken
/// would pile up; a step rarely holds more buffers of one size than this at once.
inline constexpr std::size_t kBuffersPerSize = 16;

/// Frees every buffer this thread's pool holds (torch.cuda.empty_cache), e.g. after training.
void release_cached_buffers();

/// Bytes this thread's pool holds for dtype T (for tests and diagnostics).
template <class T>
std::size_t cached_buffer_bytes();

namespace detail {

/// An uninitialised array of this shape: a pooled buffer of the same element count when there is
/// one, else a new one. Throws ValueError for a shape too large to index (numel()).
template <class T>
xt::xarray<T> take_buffer(const Shape& shape);

/// The same, shaped like `like` (which is only read).
template <class T>
xt::xarray<T> take_buffer_like(const xt::xarray<T>& like);

/// Keeps the array's buffer for reuse (leaving the array empty) unless the pool is full, the
/// thread is exiting, or the build runs under AddressSanitizer (which must see every free).
template <class T>
void give_buffer(xt::xarray<T>& array) noexcept;

}  // namespace detail

}  // namespace tapegrad
