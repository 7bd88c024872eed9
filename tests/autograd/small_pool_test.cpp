// The small-block pool under nodes, tensor handles and rule closures (autograd/small_pool.hpp).
// Pooling is off under AddressSanitizer (every free must reach ASan), so the reuse checks run in
// the other builds only; the rest holds in every build.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
using tg::detail::pool_allocate;
using tg::detail::pool_free;

using tg::detail::kPooling;

TEST_CASE("autograd: small pool: a freed block is reused for a request of the same size class",
          "[autograd][small_pool]") {
    void* a = pool_allocate(40);  // the 64-byte class
    std::memset(a, 0xab, 40);     // the whole request is usable
    pool_free(a, 40);
    void* b = pool_allocate(64);  // same class: the same block, when pooling
    void* c = pool_allocate(40);  // the class is empty again: a new block
    if (kPooling) CHECK(b == a);
    CHECK(c != b);
    void* d = pool_allocate(65);  // the next class up never gets a 64-byte block
    CHECK(d != a);
    for (auto [p, n] : {std::pair{b, 64}, {c, 40}, {d, 65}}) pool_free(p, static_cast<std::size_t>(n));
}

TEST_CASE("autograd: small pool: requests beyond 64 KiB and null frees pass straight through",
          "[autograd][small_pool]") {
    const std::size_t big = (std::size_t{1} << 16) + 1;
    void* a = pool_allocate(big);
    std::memset(a, 0, big);
    pool_free(a, big);
    pool_free(nullptr, 16);      // no-op, as operator delete(nullptr)
    void* b = pool_allocate(0);  // a zero-byte request is a valid, distinct block
    void* c = pool_allocate(0);
    CHECK(b != c);
    pool_free(b, 0);
    pool_free(c, 0);
}

TEST_CASE(
    "autograd: small pool: a block allocated on one thread may be freed on another, and a tensor may "
    "outlive the thread that made it",
    "[autograd][small_pool]") {
    std::vector<void*> blocks;
    tg::TensorD survivor;
    tg::TensorD x_grad;
    std::thread maker([&] {
        for (int i = 0; i < 100; ++i) blocks.push_back(pool_allocate(48));
        tg::TensorD x({1.0, 2.0}, true);
        survivor = tg::sum(x * x);  // its node, control block and rule were pooled on this thread
        survivor.backward();        // a graph is differentiated on the thread that recorded it
        x_grad = x.grad();
    });
    maker.join();                             // the maker's free lists are gone; what it made is still valid
    for (void* p : blocks) pool_free(p, 48);  // now on this thread's list
    void* again = pool_allocate(48);
    if (kPooling) CHECK(again == blocks.back());
    pool_free(again, 48);
    CHECK(survivor.item() == 5.0);
    CHECK(survivor.grad_fn_name() == "sum");
    CHECK(x_grad.value() == xt::xarray<double>{2.0, 4.0});
    survivor = tg::TensorD();  // its pooled blocks are freed here, onto this thread's lists
    x_grad = tg::TensorD();
}

TEST_CASE("autograd: small pool: PoolAllocator serves standard containers and allocate_shared",
          "[autograd][small_pool]") {
    std::vector<int, tg::detail::PoolAllocator<int>> v;
    for (int i = 0; i < 1000; ++i) v.push_back(i);  // regrows through several size classes
    CHECK(v[999] == 999);
    auto p = std::allocate_shared<std::vector<double>>(tg::detail::PoolAllocator<std::vector<double>>{}, 3, 1.5);
    CHECK(p->size() == 3);
    CHECK((*p)[2] == 1.5);
    CHECK(tg::detail::PoolAllocator<int>{} == tg::detail::PoolAllocator<double>{});
}
