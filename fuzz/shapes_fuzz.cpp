// Fuzz target: tensors built from user-given shapes and dims, through the shape-handling ops
// (and the layout ops: pad, narrow, roll, flip, diagonal, expand, repeat, tile, split, chunk, ...).
// Only tapegrad::Error may escape. Element counts are capped so that a legitimately huge shape
// does not exhaust memory (that is std::bad_alloc, not a bug); overflowing counts are not capped.
#include <cstdint>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

namespace {

struct Bytes {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t next() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
    // Mostly small sizes; sometimes a huge one, to reach the overflow checks.
    std::size_t dim() {
        const std::uint8_t b = next();
        if (b == 0xff) return std::size_t{1} << (32 + next() % 31);
        return b % 5;
    }
};

// Zero dimensions are skipped: an empty [0, 2^35] is fine, but its sum over dim 0 is not small.
bool fits(const tg::Shape& s, std::size_t limit) {
    std::size_t n = 1;
    for (auto d : s) {
        if (d != 0 && __builtin_mul_overflow(n, d, &n)) return false;
    }
    return n <= limit;
}

bool small(const tg::Shape& s) {
    return fits(s, std::size_t{1} << 12);
}
bool overflows(const tg::Shape& s) {
    return !fits(s, SIZE_MAX);
}

tg::Shape shape(Bytes& in) {
    tg::Shape s(in.next() % 4);
    for (auto& d : s) d = in.dim();
    return s;
}

void run(Bytes& in) {
    const tg::Shape sa = shape(in), sb = shape(in);
    try {
        if (!small(sa)) {
            // An overflowing count must throw; a merely huge one would be a genuine std::bad_alloc.
            if (overflows(sa)) tg::zeros<double>(sa);
            return;
        }
        tg::TensorD a = tg::ones<double>(sa, true);
        tg::TensorD b = small(sb) ? tg::full<double>(sb, 2.0, true) : tg::TensorD(1.0);
        const std::int64_t dim = static_cast<std::int8_t>(in.next()) % 5;  // negative ones too
        // Two more small signed numbers for the layout ops (-8..8), and b's shape as signed sizes.
        const std::int64_t i = static_cast<std::int8_t>(in.next()) % 9, j = static_cast<std::int8_t>(in.next()) % 9;
        const std::vector<std::int64_t> sizes(sb.begin(), sb.end());
        switch (in.next() % 20) {
            case 0:
                tg::sum(a * b).backward();
                break;
            case 1:
                tg::sum(tg::matmul(a, b)).backward();
                break;
            case 2:
                tg::sum(tg::reshape(a, sb)).backward();
                break;
            case 3:
                tg::sum(tg::sum(a, {dim}, in.next() & 1)).backward();
                break;
            case 4:
                tg::sum(tg::softmax(a, dim) + b).backward();
                break;
            case 5:
                tg::sum(tg::concat(std::vector<tg::TensorD>{a, b}, dim)).backward();
                break;
            case 6:
                tg::sum(tg::transpose(a, dim, static_cast<std::int8_t>(in.next()) % 5)).backward();
                break;
            case 7:
                tg::sum(tg::amax(a, {dim})).backward();
                break;
            case 8:
                tg::sum(
                    tg::slice(a, dim, static_cast<std::int8_t>(in.next()) % 6, static_cast<std::int8_t>(in.next()) % 6))
                    .backward();
                break;
            case 9:
                tg::sum(tg::linear(a, b)).backward();
                break;
            case 10:
                tg::sum(tg::pad(a, {i % 4, j % 4, j / 3, i / 3}, 1.5)).backward();
                break;
            case 11:
                tg::sum(tg::narrow(a, dim, i % 6, j % 6)).backward();
                break;
            case 12:
                tg::sum(tg::roll(a, {i}, {dim}) + tg::roll(a, {j})).backward();
                break;
            case 13:
                tg::sum(tg::flip(a, {dim, i % 5})).backward();
                break;
            case 14:
                tg::sum(tg::diagonal(a, i % 5, dim, j % 5)).backward();
                break;
            case 15:
                if (small(sb)) tg::sum(tg::expand(a, sizes)).backward();
                break;
            case 16:
                if (small(sb)) tg::sum(tg::repeat(a, sizes) + tg::tile(a, sizes)).backward();
                break;
            case 17:
                tg::sum(tg::concat(tg::split(a, i % 4, dim), dim) + tg::concat(tg::chunk(a, j % 4, dim), dim))
                    .backward();
                break;
            case 18:
                tg::sum(tg::unflatten(tg::flatten(a, dim, i % 5), dim, {j % 3, -1})).backward();
                break;
            default:
                tg::sum(tg::tril(a, i % 4) + tg::movedim(a, dim, j % 5)).backward();
                break;
        }
    } catch (const tg::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Bytes in{data, size};
    run(in);
    return 0;
}
