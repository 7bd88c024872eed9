#include <tapegrad/autograd/small_pool.hpp>

#include <array>
#include <bit>

namespace tapegrad::detail {

namespace {

constexpr std::size_t kMinBlock = 16;  // operator new's alignment: every block keeps it
constexpr std::size_t kMaxBlock = std::size_t{1} << 16;
constexpr std::size_t kClasses = 13;                          // 16 B, 32 B, ..., 64 KiB
constexpr std::size_t kBytesPerClass = std::size_t{1} << 20;  // freed blocks one thread keeps per class
static_assert(kMinBlock << (kClasses - 1) == kMaxBlock);

std::size_t size_class(std::size_t bytes) noexcept {
    return static_cast<std::size_t>(std::bit_width(std::max(bytes, kMinBlock) - 1)) - 4;
}

std::size_t class_bytes(std::size_t c) noexcept {
    return kMinBlock << c;
}

// Set when this thread's lists are destroyed: blocks freed after that (by other thread_locals'
// destructors) go back to operator delete. A trivially destructible flag stays readable then.
constinit thread_local bool lists_gone = false;

// Free blocks form singly linked lists through their own first bytes: keeping a block costs nothing.
struct FreeLists {
    struct Block {
        Block* next;
    };
    std::array<Block*, kClasses> head{};
    std::array<std::size_t, kClasses> count{};

    ~FreeLists() {
        lists_gone = true;
        for (std::size_t c = 0; c < kClasses; ++c) {
            while (Block* b = head[c]) {
                head[c] = b->next;
                ::operator delete(b);
            }
        }
    }
};

FreeLists* lists() noexcept {
    if (!kPooling || lists_gone) return nullptr;
    thread_local FreeLists l;
    return &l;
}

}  // namespace

void* pool_allocate(std::size_t bytes) {
    if (bytes > kMaxBlock) return ::operator new(bytes);
    const std::size_t c = size_class(bytes);
    if (FreeLists* l = lists(); l && l->head[c]) {
        FreeLists::Block* b = l->head[c];
        l->head[c] = b->next;
        --l->count[c];
        return b;
    }
    return ::operator new(class_bytes(c));
}

void pool_free(void* block, std::size_t bytes) noexcept {
    if (!block) return;
    if (bytes > kMaxBlock) return ::operator delete(block);
    const std::size_t c = size_class(bytes);
    FreeLists* l = lists();
    if (!l || (l->count[c] + 1) * class_bytes(c) > kBytesPerClass) return ::operator delete(block);
    auto* b = static_cast<FreeLists::Block*>(block);
    b->next = l->head[c];
    l->head[c] = b;
    ++l->count[c];
}

}  // namespace tapegrad::detail
