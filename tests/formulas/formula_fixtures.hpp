// Shared fixtures of the seed-formula tests [F01]..[F25]: random inputs from fixed seeds,
// plain-loop linear algebra in the documents' column-vector notation, comparisons with a
// stated tolerance, and central differences for the errata.
//
// The references here never touch tapegrad's ops or backward: they read a tensor's value,
// convert it to float64, and compute with loops over xt::xarray<double>.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>
#include <xtensor/xarray.hpp>

#include <tapegrad/tapegrad.hpp>

namespace formulas {

namespace tg = tapegrad;

/// Reference values are always float64, computed from the same inputs the tape saw (a float32
/// input converts to double exactly), so a float32 comparison measures only the tape's rounding.
using Mat = xt::xarray<double>;

/// Tolerance, normwise relative: max |tape - closed form| <= tol * max |closed form|. Normwise
/// because an entry near zero is a difference of larger terms whose rounding error is absolute.
///   float64: 1e-12. Tape and closed form do the same arithmetic in another order (BLAS vs loops),
///            so they differ by a few ulps (1e-16) times the terms summed; 1e-12 leaves room only
///            for that.
///   float32: 1e-5, about 80 float32 ulps: a few ulps per op through up to four layers.
template <class T>
constexpr double rel_tol() {
    return std::is_same_v<T, double> ? 1e-12 : 1e-5;
}

/// Central differences (float64 only) agree with the truth to about h^2 + eps/h ~ 1e-10 at
/// h = 1e-6; 1e-6 normwise is a safe bound for agreement.
inline constexpr double fd_tol = 1e-6;

/// An erratum "disagrees" when it is off by more than 1% of the reference's norm: orders of
/// magnitude beyond rounding and finite-difference error.
inline constexpr double disagree_tol = 1e-2;

/// Problem sizes: non-square, non-trivial (in 5, out 3), per sample (batch 1) and batched (4).
inline constexpr std::size_t n_in = 5;
inline constexpr std::size_t n_out = 3;
inline const std::vector<std::size_t> batch_sizes = {1, 4};

template <class T>
tg::Tensor<T> random_leaf(const tg::Shape& shape, tg::Generator& gen, double stddev = 1.0) {
    return tg::randn<T>(shape, gen, T(0), T(stddev), true);
}

template <class T>
tg::Tensor<T> random_const(const tg::Shape& shape, tg::Generator& gen, double stddev = 1.0) {
    return tg::randn<T>(shape, gen, T(0), T(stddev), false);
}

/// Uniform in [low, high), a constant (targets, probabilities).
template <class T>
tg::Tensor<T> uniform_const(const tg::Shape& shape, tg::Generator& gen, double low, double high) {
    return tg::rand<T>(shape, gen, T(low), T(high), false);
}

template <class A>
Mat to_mat(const A& a) {
    Mat m = xt::cast<double>(a);
    return m;
}

/// A flat list of numbers as a 1-d array.
inline Mat from_vector(const std::vector<double>& v) {
    Mat m = xt::zeros<double>({v.size()});
    for (std::size_t k = 0; k < v.size(); ++k) m(k) = v[k];
    return m;
}

/// A tensor's value in float64.
template <class T>
Mat values(const tg::Tensor<T>& t) {
    return to_mat(t.value());
}

/// The gradient the tape left in t.grad(), in float64.
template <class T>
Mat grad_of(const tg::Tensor<T>& t) {
    REQUIRE(t.grad().defined());
    return values(t.grad());
}

/// E = sum(g ⊙ y): a scalar whose gradient with respect to y is exactly g. It plays the
/// documents' "dE/dy is given" (000 §2.2, 003 "Back propagation").
template <class T>
tg::Tensor<T> weighted_sum(const tg::Tensor<T>& y, const tg::Tensor<T>& g) {
    return tg::sum(y * g);
}

// ---- plain linear algebra in the documents' notation (column vectors are 1-d) ----------

/// Sample b of a batch (one sample per row) as the documents' column vector.
inline Mat sample(const Mat& rows, std::size_t b) {
    Mat v = xt::zeros<double>({rows.shape(1)});
    for (std::size_t i = 0; i < rows.shape(1); ++i) v(i) = rows(b, i);
    return v;
}

/// Rows [start, stop) of a batch, as a smaller batch.
inline Mat sample_rows(const Mat& rows, std::size_t start, std::size_t stop) {
    Mat r = xt::zeros<double>({stop - start, rows.shape(1)});
    for (std::size_t b = start; b < stop; ++b)
        for (std::size_t i = 0; i < rows.shape(1); ++i) r(b - start, i) = rows(b, i);
    return r;
}

/// Writes column vector v into row b of `rows`.
inline void set_sample(Mat& rows, std::size_t b, const Mat& v) {
    for (std::size_t i = 0; i < v.size(); ++i) rows(b, i) = v(i);
}

/// (W x)_j = sum_i W_ji x_i.
inline Mat mat_vec(const Mat& w, const Mat& x) {
    Mat y = xt::zeros<double>({w.shape(0)});
    for (std::size_t j = 0; j < w.shape(0); ++j)
        for (std::size_t i = 0; i < w.shape(1); ++i) y(j) += w(j, i) * x(i);
    return y;
}

/// (W^T g)_i = sum_j W_ji g_j.
inline Mat mat_t_vec(const Mat& w, const Mat& g) {
    Mat x = xt::zeros<double>({w.shape(1)});
    for (std::size_t j = 0; j < w.shape(0); ++j)
        for (std::size_t i = 0; i < w.shape(1); ++i) x(i) += w(j, i) * g(j);
    return x;
}

/// u v^T.
inline Mat outer(const Mat& u, const Mat& v) {
    Mat m = xt::zeros<double>({u.size(), v.size()});
    for (std::size_t j = 0; j < u.size(); ++j)
        for (std::size_t i = 0; i < v.size(); ++i) m(j, i) = u(j) * v(i);
    return m;
}

/// M^T.
inline Mat transposed(const Mat& m) {
    Mat t = xt::zeros<double>({m.shape(1), m.shape(0)});
    for (std::size_t r = 0; r < m.shape(0); ++r)
        for (std::size_t c = 0; c < m.shape(1); ++c) t(c, r) = m(r, c);
    return t;
}

inline double sigmoid(double z) {
    return 1.0 / (1.0 + std::exp(-z));
}

/// 002 eq 18: a_i = k_i / k with k_i = e^(s_i), k = sum_i k_i (inputs here are O(1): no overflow).
inline Mat softmax_ref(const Mat& s) {
    Mat a = xt::zeros<double>(s.shape());
    double k = 0;
    for (std::size_t i = 0; i < s.size(); ++i) k += std::exp(s(i));
    for (std::size_t i = 0; i < s.size(); ++i) a(i) = std::exp(s(i)) / k;
    return a;
}

/// 002 §3.2: H' = da/ds of softmax, H'_ii = k_i (k - k_i) / k^2, H'_ij = -k_i k_j / k^2.
inline Mat softmax_jacobian_ref(const Mat& s) {
    const std::size_t n = s.size();
    double k = 0;
    for (std::size_t i = 0; i < n; ++i) k += std::exp(s(i));
    Mat h = xt::zeros<double>({n, n});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
            h(i, j) =
                i == j ? std::exp(s(i)) * (k - std::exp(s(i))) / (k * k) : -std::exp(s(i)) * std::exp(s(j)) / (k * k);
    return h;
}

// ---- comparisons ------------------------------------------------------------------------

inline double max_abs(const Mat& m) {
    double r = 0;
    for (double v : m) r = std::max(r, std::abs(v));
    return r;
}

/// Largest |a - b| and where it is; a and b must have the same shape.
struct Worst {
    double diff = 0;
    std::size_t index = 0;
};
inline Worst worst_difference(const Mat& a, const Mat& b) {
    Worst w;
    for (std::size_t k = 0; k < a.size(); ++k) {
        const double d = std::abs(a.flat(k) - b.flat(k));
        if (!(d <= w.diff)) w = {d, k};  // NaN counts as worst
    }
    return w;
}

inline std::string shape_of(const Mat& m) {
    return tg::shape_str(tg::Shape(m.shape().begin(), m.shape().end()));
}

/// REQUIREs that `actual` equals `expected` element by element within tol, relative to `scale`:
/// by default max |expected| (normwise). A sum over a batch whose terms cancel passes the larger
/// magnitude of its terms instead, since that is what its rounding error is proportional to.
inline void require_close(const Mat& actual, const Mat& expected, double tol, const std::string& what,
                          double scale = 0) {
    INFO(what << ": actual shape " << shape_of(actual) << ", expected shape " << shape_of(expected));
    REQUIRE(shape_of(actual) == shape_of(expected));
    const Worst w = worst_difference(actual, expected);
    scale = std::max({scale, max_abs(expected), 1e-300});
    INFO("worst flat element " << w.index << ": actual " << actual.flat(w.index) << ", expected "
                               << expected.flat(w.index) << ", |diff| " << w.diff << " > " << tol << " x " << scale);
    REQUIRE(w.diff <= tol * scale);
}

/// The tape's gradient (or value) against a closed form, at the tolerance of T.
template <class T>
void require_matches(const Mat& tape, const Mat& closed_form, const std::string& what, double scale = 0) {
    require_close(tape, closed_form, rel_tol<T>(), what, scale);
}

/// REQUIREs that a document's literal expression disagrees with a reference: same shape, and
/// off by more than disagree_tol of the reference's norm.
inline void require_disagrees(const Mat& literal, const Mat& reference, const std::string& what) {
    INFO(what << ": literal shape " << shape_of(literal) << ", reference shape " << shape_of(reference));
    REQUIRE(shape_of(literal) == shape_of(reference));
    const Worst w = worst_difference(literal, reference);
    INFO("largest difference at flat element " << w.index << ": literal " << literal.flat(w.index) << ", reference "
                                               << reference.flat(w.index));
    REQUIRE(w.diff > disagree_tol * max_abs(reference));
}

/// d f / d p by central differences with step h (float64), every element of p.
inline Mat central_differences(const std::function<double(const Mat&)>& f, const Mat& p, double h = 1e-6) {
    Mat g = xt::zeros<double>(p.shape());
    Mat q = p;
    for (std::size_t k = 0; k < p.size(); ++k) {
        q.flat(k) = p.flat(k) + h;
        const double up = f(q);
        q.flat(k) = p.flat(k) - h;
        const double down = f(q);
        q.flat(k) = p.flat(k);
        g.flat(k) = (up - down) / (2 * h);
    }
    return g;
}

/// The erratum check: the literal expression disagrees with the tape's gradient and
/// with central differences, while the tape agrees with the differences (so both references are
/// sound). float64 only.
inline void require_erratum(const Mat& literal, const Mat& tape, const Mat& numeric, const std::string& what) {
    require_close(tape, numeric, fd_tol, what + ": tape vs central differences");
    require_disagrees(literal, tape, what + ": literal vs tape");
    require_disagrees(literal, numeric, what + ": literal vs central differences");
}

}  // namespace formulas
