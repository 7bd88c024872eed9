// Pooling's closed forms proved against the tape (docs/PROOFS.md, "Pooling (beyond the seeds)"):
//   max pooling   dL/dx[p, h, w] = sum of G[p, o] over the windows o whose argmax is (h, w)
//   avg pooling   dL/dx[p, h, w] = sum of G[p, o] / divisor(o) over the windows o holding (h, w)
// for L = sum(G ⊙ pool(x)) with a random G. The closed forms are written with plain loops over
// the windows (never tapegrad's ops or backward), per sample (batch 1) and batched (batch 4), in
// float64 and float32, with overlapping windows (kernel 3, stride 2) and padding, so that an
// element collects several windows' gradients.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

namespace {

using I = std::int64_t;
using Mat = xt::xarray<double>;

/// Normwise relative tolerance, as the seed formulas' (tests/formulas/formula_fixtures.hpp): the
/// tape and the loops add the same terms in another order, a few ulps apart.
template <class T>
constexpr double rel_tol() {
    return std::is_same_v<T, double> ? 1e-12 : 1e-5;
}

/// max |a - b| <= tol * max |b|.
bool close(const Mat& a, const Mat& b, double tol) {
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
        diff = std::max(diff, std::abs(a.data()[i] - b.data()[i]));
        scale = std::max(scale, std::abs(b.data()[i]));
    }
    return a.shape() == b.shape() && diff <= tol * scale;
}

// The pool of these proofs: kernel 3, stride 2, padding 1 on a 7 x 6 image (output 4 x 3).
constexpr I k = 3, s = 2, pad = 1, H = 7, W = 6, OH = 4, OW = 3, C = 2;

/// Calls f(plane, o, h, w) for every position (h, w) of x inside window o (o = oh * OW + ow).
template <class F>
void for_window_taps(std::size_t planes, F f) {
    for (std::size_t p = 0; p < planes; ++p)
        for (I oh = 0; oh < OH; ++oh)
            for (I ow = 0; ow < OW; ++ow)
                for (I h = oh * s - pad; h < oh * s - pad + k; ++h)
                    for (I w = ow * s - pad; w < ow * s - pad + k; ++w)
                        if (h >= 0 && h < H && w >= 0 && w < W) f(p, oh * OW + ow, h, w);
}

template <class T>
struct Problem {
    tg::Tensor<T> x, g;
    std::size_t planes;
};

template <class T>
Problem<T> problem(std::size_t batch, std::uint64_t seed) {
    tg::Generator gen(seed);
    return {tg::randn<T>({batch, C, H, W}, gen, T(0), T(1), true), tg::randn<T>({batch, C, OH, OW}, gen), batch * C};
}

}  // namespace

TEMPLATE_TEST_CASE("pool proof: max pooling routes G to each window's argmax", "[pool][proof]", float, double) {
    for (const std::size_t batch : {1, 4}) {
        const auto [x, g, planes] = problem<TestType>(batch, 7 + batch);
        tg::sum(tg::max_pool2d(x, k, s, pad) * g).backward();
        const Mat xv = x.value(), gv = g.value();
        // First the argmax of every window (the first largest, reading its taps in row-major order) ...
        std::vector<I> arg(planes * OH * OW, -1);
        for_window_taps(planes, [&](std::size_t p, I o, I h, I w) {
            I& a = arg[p * OH * OW + static_cast<std::size_t>(o)];
            if (a < 0 || xv.data()[p * H * W + static_cast<std::size_t>(h * W + w)] > xv.data()[p * H * W + a]) {
                a = h * W + w;
            }
        });
        // ... then dL/dx: G added there.
        Mat expected = xt::zeros<double>({batch, std::size_t(C), std::size_t(H), std::size_t(W)});
        for (std::size_t p = 0; p < planes; ++p)
            for (I o = 0; o < OH * OW; ++o)
                expected.data()[p * H * W + arg[p * OH * OW + o]] += gv.data()[p * OH * OW + o];
        INFO("batch " << batch);
        CHECK(close(x.grad().value(), expected, rel_tol<TestType>()));
    }
}

TEMPLATE_TEST_CASE("pool proof: average pooling spreads G / divisor uniformly over each window", "[pool][proof]", float,
                   double) {
    for (const bool count_include_pad : {true, false}) {
        for (const std::size_t batch : {1, 4}) {
            const auto [x, g, planes] = problem<TestType>(batch, 11 + batch);
            tg::sum(tg::avg_pool2d(x, k, s, pad, false, count_include_pad) * g).backward();
            const Mat gv = g.value();
            // The divisor of each window: its k x k taps counting the padding, or only x's elements.
            std::vector<double> inside(planes * OH * OW, 0.0);
            for_window_taps(planes, [&](std::size_t p, I o, I, I) { inside[p * OH * OW + o] += 1; });
            Mat expected = xt::zeros<double>({batch, std::size_t(C), std::size_t(H), std::size_t(W)});
            for_window_taps(planes, [&](std::size_t p, I o, I h, I w) {
                const std::size_t at = p * OH * OW + static_cast<std::size_t>(o);
                const double divisor = count_include_pad ? double(k * k) : inside[at];
                expected.data()[p * H * W + static_cast<std::size_t>(h * W + w)] += gv.data()[at] / divisor;
            });
            INFO("batch " << batch << ", count_include_pad " << count_include_pad);
            CHECK(close(x.grad().value(), expected, rel_tol<TestType>()));
        }
    }
}
