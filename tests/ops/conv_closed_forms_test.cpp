// The closed forms of the convolution's gradients (docs/PROOFS.md, "Convolution (beyond the
// seeds)"), each written out with plain loops over float64 arrays and compared with what the tape
// computes, per sample (batch 1) and batched (batch 3), in float64 and float32. The loss is
// L = Σ R ⊙ Y for a fixed random R, so dL/dY = R:
//   C1  dL/dW[o, c, p, q] = Σ_{n,i,j} dL/dY[n, o, i, j] x̃[n, c, i + p, j + q]       (x̃: x zero-padded)
//   C2  dL/dX = the full convolution of dL/dY with the flipped kernel:
//       dL/dX[n, c, h, w] = Σ_{o,p,q} R̃[n, o, h + p, w + q] W[o, c, kH-1-p, kW-1-q]  (R̃: R padded by k-1-pad)
//   C3  dL/db[o] = Σ_{n,i,j} dL/dY[n, o, i, j]
// Tolerance, normwise relative (max |tape - closed form| <= tol max |closed form|, as the seed
// formulas' proofs): float64 1e-12, the same sums in another order (BLAS vs loops); float32 1e-5:
// the tape's float32 sums have at most 3 * 6 * 7 = 126 terms of size O(1), each rounding at
// 6e-8 relative, so their error stays below ~1e-6 of the largest entry; 1e-5 leaves a factor 10.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <type_traits>

#include <xtensor/xarray.hpp>

#include <tapegrad/tapegrad.hpp>

namespace {

namespace tg = tapegrad;
using Arr = xt::xarray<double>;

constexpr std::size_t kC = 2, kO = 3, kH = 6, kW = 7, kK = 3, kPad = 1;  // stride 1, 3x3 kernel, 'same' size

Arr random_array(const tg::Shape& shape, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    Arr a = Arr::from_shape(shape);
    for (auto& v : a) v = u(gen);
    return a;
}

/// a zero-padded by `p` on each side of its last two dims.
Arr pad2(const Arr& a, std::size_t p) {
    const auto& s = a.shape();
    Arr out = xt::zeros<double>({s[0], s[1], s[2] + 2 * p, s[3] + 2 * p});
    for (std::size_t n = 0; n < s[0]; ++n)
        for (std::size_t c = 0; c < s[1]; ++c)
            for (std::size_t i = 0; i < s[2]; ++i)
                for (std::size_t j = 0; j < s[3]; ++j) out(n, c, i + p, j + p) = a(n, c, i, j);
    return out;
}

/// C1: the correlation of the padded input with dL/dY.
Arr weight_grad(const Arr& x, const Arr& r) {
    const Arr xp = pad2(x, kPad);
    Arr dw = xt::zeros<double>({kO, kC, kK, kK});
    for (std::size_t o = 0; o < kO; ++o)
        for (std::size_t c = 0; c < kC; ++c)
            for (std::size_t p = 0; p < kK; ++p)
                for (std::size_t q = 0; q < kK; ++q)
                    for (std::size_t n = 0; n < x.shape()[0]; ++n)
                        for (std::size_t i = 0; i < kH; ++i)
                            for (std::size_t j = 0; j < kW; ++j)
                                dw(o, c, p, q) += r(n, o, i, j) * xp(n, c, i + p, j + q);
    return dw;
}

/// C2: dL/dY padded by k - 1 - pad, correlated with the kernel flipped in both spatial dims.
Arr input_grad(const Arr& w, const Arr& r) {
    const Arr rp = pad2(r, kK - 1 - kPad);
    const std::size_t batch = r.shape()[0];
    Arr dx = xt::zeros<double>({batch, kC, kH, kW});
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t c = 0; c < kC; ++c)
            for (std::size_t h = 0; h < kH; ++h)
                for (std::size_t v = 0; v < kW; ++v)
                    for (std::size_t o = 0; o < kO; ++o)
                        for (std::size_t p = 0; p < kK; ++p)
                            for (std::size_t q = 0; q < kK; ++q)
                                dx(n, c, h, v) += rp(n, o, h + p, v + q) * w(o, c, kK - 1 - p, kK - 1 - q);
    return dx;
}

/// C3: dL/dY summed over batch and space.
Arr bias_grad(const Arr& r) {
    Arr db = xt::zeros<double>({kO});
    for (std::size_t n = 0; n < r.shape()[0]; ++n)
        for (std::size_t o = 0; o < kO; ++o)
            for (std::size_t i = 0; i < kH; ++i)
                for (std::size_t j = 0; j < kW; ++j) db(o) += r(n, o, i, j);
    return db;
}

/// max |a - b| / max |b|.
double normwise(const Arr& a, const Arr& b) {
    REQUIRE(a.shape() == b.shape());
    double diff = 0, top = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        diff = std::max(diff, std::abs(a.data()[k] - b.data()[k]));
        top = std::max(top, std::abs(b.data()[k]));
    }
    return diff / top;
}

template <class T>
constexpr double tolerance() {
    return std::is_same_v<T, double> ? 1e-12 : 1e-5;
}

/// The tape's gradients of L = Σ R ⊙ conv2d(x, W, b) against C1, C2 and C3. The references read
/// the inputs as the tape saw them (a float32 value converts to double exactly).
template <class T>
void check_closed_forms(std::size_t batch) {
    const Arr r64 = random_array({batch, kO, kH, kW}, 3);
    tg::Tensor<T> x(xt::xarray<T>(random_array({batch, kC, kH, kW}, 1)), true);
    tg::Tensor<T> w(xt::xarray<T>(random_array({kO, kC, kK, kK}, 2)), true);
    tg::Tensor<T> b(xt::xarray<T>(random_array({kO}, 4)), true);
    const tg::Tensor<T> r{xt::xarray<T>(r64)};
    tg::sum(tg::conv2d(x, w, b, 1, kPad) * r).backward();
    const Arr xs = x.value(), ws = w.value(), rs = r.value();
    const Arr gx = x.grad().value(), gw = w.grad().value(), gb = b.grad().value();
    CHECK(normwise(gw, weight_grad(xs, rs)) <= tolerance<T>());
    CHECK(normwise(gx, input_grad(ws, rs)) <= tolerance<T>());
    CHECK(normwise(gb, bias_grad(rs)) <= tolerance<T>());
}

}  // namespace

TEMPLATE_TEST_CASE(
    "conv2d: dL/dW is the correlation of x with dL/dY, dL/dX the full convolution of dL/dY with "
    "the flipped kernel, dL/db the sum of dL/dY",
    "[conv][proof]", float, double) {
    SECTION("per sample") {
        check_closed_forms<TestType>(1);
    }
    SECTION("batched") {
        check_closed_forms<TestType>(3);
    }
}
