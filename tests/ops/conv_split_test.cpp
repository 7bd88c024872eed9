// Convolutions large enough for ops/convolution.cpp to split them across threads (from 4 MFLOP,
// over the samples or the channels; the weight gradient's runs of samples summed in order), in
// batches that do not split evenly, against the op table's plain loops (conv_reference.hpp): the
// forward, dL/dx (the transposed convolution of R) and dL/dW for L = Σ R ⊙ conv2d(x, W, b),
// stride 1, padding 1.
// Normwise tolerance (max |tape - loops| <= tol max |loops|): float64 1e-12 (the same sums in
// another order); float32 1e-5: each sum has at most 9 x 3600 terms of size O(1), added in blocks
// (GEMM's, or float lanes folded into double every 32 terms), whose rounding stays near 1e-6 of
// the largest entry; 1e-5 leaves a factor 10.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>

#include <tapegrad/tapegrad.hpp>

#include "conv_reference.hpp"

namespace tg = tapegrad;

namespace optable::conv_loops {

namespace {

Array random_array(const Index& shape, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    Array a = ref::empty(shape);
    for (auto& v : a) v = u(gen);
    return a;
}

double normwise(const Array& a, const Array& b) {
    REQUIRE(a.shape() == b.shape());
    double diff = 0, top = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        diff = std::max(diff, std::abs(a.data()[k] - b.data()[k]));
        top = std::max(top, std::abs(b.data()[k]));
    }
    return diff / top;
}

template <class T>
void check_split(std::size_t n, std::size_t c, std::size_t o, std::size_t size, std::int64_t groups) {
    const std::size_t threads = tg::get_num_threads();
    tg::set_num_threads(tg::max_num_threads());
    const std::size_t cg = c / std::size_t(groups);
    const tg::Tensor<T> x(xt::xarray<T>(random_array({n, c, size, size}, 1)), true);
    const tg::Tensor<T> w(xt::xarray<T>(random_array({o, cg, 3, 3}, 2)), true);
    const tg::Tensor<T> b(xt::xarray<T>(random_array({o}, 3)), true);
    const tg::Tensor<T> r(xt::xarray<T>(random_array({n, o, size, size}, 4)));
    const tg::Tensor<T> y = tg::conv2d(x, w, b, 1, 1, 1, groups);
    tg::sum(y * r).backward();
    tg::set_num_threads(threads);
    // The references read the inputs as the tape saw them (a float32 value converts to double exactly).
    const Array xs = x.value(), ws = w.value(), bs = b.value(), rs = r.value();
    const Conv conv{.ph = 1, .pw = 1, .groups = groups};
    const double tol = std::is_same_v<T, double> ? 1e-12 : 1e-5;
    CHECK(normwise(Array(y.value()), conv_ref(xs, ws, &bs, conv)) <= tol);
    CHECK(normwise(Array(x.grad().value()), conv_transpose_ref(rs, ws, nullptr, conv)) <= tol);
    CHECK(normwise(Array(w.grad().value()), weight_ref(xs, rs, {o, cg, 3, 3}, conv)) <= tol);
}

}  // namespace

}  // namespace optable::conv_loops

TEMPLATE_TEST_CASE("conv2d: work split across threads unevenly matches the plain-loop sums", "[ops][conv]", float,
                   double) {
    SECTION("im2col + GEMM over 9 samples") {
        optable::conv_loops::check_split<TestType>(9, 8, 16, 16, 1);
    }
    SECTION("depthwise with 2 outputs per channel, 9 samples of 8 channels") {
        optable::conv_loops::check_split<TestType>(9, 8, 16, 40, 8);
    }
    SECTION("one input channel (the example CNN's first layer: im2col + GEMM), 9 samples") {
        optable::conv_loops::check_split<TestType>(9, 1, 32, 28, 1);
    }
    SECTION("one input channel, 16 outputs (the forward by GEMM, the gradients by taps), 9 samples") {
        optable::conv_loops::check_split<TestType>(9, 1, 16, 40, 1);
    }
    SECTION("one input channel, 8 outputs (by taps throughout), 9 samples") {
        optable::conv_loops::check_split<TestType>(9, 1, 8, 60, 1);
    }
    SECTION("one input channel per group, 32 outputs each (im2col + GEMM per group), 9 samples") {
        optable::conv_loops::check_split<TestType>(9, 2, 64, 20, 2);
    }
}
