/// \file
/// Small blocks kept for reuse, per thread: what every recorded op allocates besides its output
/// buffer (the tensor's shared state, the node with its backward closure, the input and gradient
/// lists, the engine's work lists). A training step makes the same objects every step, so after
/// the first steps they come from here and a step calls malloc not at all, as Stan's arena does.
#pragma once

#include <cstddef>
#include <new>

namespace tapegrad::detail {

/// Whether the pools (this one and the tensor buffer pool) keep freed memory: not under
/// AddressSanitizer, where reused memory would hide a use after free, so everything is freed.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kPooling = false;
#else
inline constexpr bool kPooling = true;
#endif

/// A block of at least `bytes` bytes (aligned for any standard type): a freed one of its size class
/// (powers of two from 16 bytes to 64 KiB) when this thread has one, else new memory. Larger
/// requests go straight to operator new. Throws std::bad_alloc as operator new does.
void* pool_allocate(std::size_t bytes);

/// Gives back a block from pool_allocate(bytes) to the calling thread's free list (any thread may
/// free what another allocated), or frees it when that list is full, the thread is exiting, or the
/// build runs under AddressSanitizer (which must see every free).
void pool_free(void* block, std::size_t bytes) noexcept;

/// A standard allocator over pool_allocate, for std::allocate_shared and containers.
template <class U>
struct PoolAllocator {
    using value_type = U;
    PoolAllocator() noexcept = default;
    template <class V>
    PoolAllocator(const PoolAllocator<V>&) noexcept {}
    U* allocate(std::size_t n) {
        if (n > static_cast<std::size_t>(-1) / sizeof(U)) throw std::bad_array_new_length();
        return static_cast<U*>(pool_allocate(n * sizeof(U)));
    }
    void deallocate(U* p, std::size_t n) noexcept { pool_free(p, n * sizeof(U)); }
    template <class V>
    bool operator==(const PoolAllocator<V>&) const noexcept {
        return true;  // stateless: any instance frees what any other allocated
    }
};

}  // namespace tapegrad::detail
