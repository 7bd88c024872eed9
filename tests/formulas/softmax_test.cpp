// [F13]-[F15]: the softmax Jacobian, softmax followed by cross-entropy, and the output delta
// (seeds 002 eqs 5, 18, 19; 003 "Softmax"; 001). Softmax runs along each row (one sample per row).
#include <catch2/catch.hpp>

#include "formula_fixtures.hpp"

using namespace formulas;

namespace {

/// 003: (A ⊙ (I - A^T)) g with A_ij = a_i.
Mat softmax_vjp_003(const Mat& a, const Mat& g) {
    const std::size_t n = a.size();
    Mat r = xt::zeros<double>({n});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) r(i) += a(i) * ((i == j ? 1.0 : 0.0) - a(j)) * g(j);
    return r;
}

/// E(s) = sum_i g_i softmax(s)_i in plain loops.
double softmax_energy(const Mat& s, const Mat& g) {
    const Mat a = softmax_ref(s);
    double e = 0;
    for (std::size_t i = 0; i < a.size(); ++i) e += g(i) * a(i);
    return e;
}

/// A target per row that sums to `total` (positive entries), so delta's general form is tested.
template <class T>
tg::Tensor<T> target_summing_to(tg::Generator& gen, std::size_t batch, std::size_t n, double total) {
    xt::xarray<T> y = uniform_const<T>({batch, n}, gen, 0.1, 1).value();
    for (std::size_t s = 0; s < batch; ++s) {
        T row = 0;
        for (std::size_t i = 0; i < n; ++i) row += y(s, i);
        for (std::size_t i = 0; i < n; ++i) y(s, i) *= T(total) / row;
    }
    return tg::Tensor<T>(y);
}

}  // namespace

TEMPLATE_TEST_CASE("[F13] softmax Jacobian: a_i(1 - a_i) on the diagonal and -a_i a_j off it (symmetric)",
                   "[F13][formulas] 002 §3.2 eq 18; 003 Softmax", float, double) {
    using T = TestType;
    constexpr std::size_t n = n_in;
    tg::Generator gen(113);
    // The full Jacobian of one sample: row k is the vector-Jacobian product with e_k.
    auto s = random_leaf<T>({1, n}, gen);
    auto a = tg::softmax(s);
    Mat jacobian = xt::zeros<double>({n, n});
    for (std::size_t k = 0; k < n; ++k) {
        auto e_k = tg::zeros<T>({1, n});
        e_k.mutable_value()(0, k) = 1;
        const Mat row = values(tg::grad<T>({a}, {s}, {e_k}, true)[0]);
        for (std::size_t j = 0; j < n; ++j) jacobian(k, j) = row(0, j);
    }
    const Mat sv = sample(values(s), 0);
    const Mat av = softmax_ref(sv);
    Mat jacobian_003 = xt::zeros<double>({n, n});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) jacobian_003(i, j) = i == j ? av(i) * (1 - av(i)) : -av(i) * av(j);
    require_matches<T>(jacobian, softmax_jacobian_ref(sv), "002: k_i(k - k_i)/k^2 and -k_i k_j/k^2");
    require_matches<T>(jacobian, jacobian_003, "003: y_i(1 - y_i) and -y_i y_j");
    require_matches<T>(jacobian, transposed(jacobian), "H' is symmetric");

    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        auto x = random_leaf<T>({batch, n}, gen);
        auto g = random_const<T>({batch, n}, gen);
        weighted_sum(tg::softmax(x), g).backward();
        const Mat xm = values(x), gm = values(g);
        Mat expected = xt::zeros<double>({batch, n});
        for (std::size_t b = 0; b < batch; ++b)
            set_sample(expected, b, softmax_vjp_003(softmax_ref(sample(xm, b)), sample(gm, b)));
        require_matches<T>(grad_of(x), expected, "(A ⊙ (I - A^T)) g for random g");
    }
    if constexpr (std::is_same_v<T, double>) {
        SECTION("erratum: 003 prints A's first row as (y_1 ... y_n) and multiplies by J for J^T") {
            auto x = random_leaf<T>({1, n}, gen);
            auto g = random_const<T>({1, n}, gen);
            weighted_sum(tg::softmax(x), g).backward();
            const Mat xv = sample(values(x), 0), gv = sample(values(g), 0);
            const Mat av2 = softmax_ref(xv);
            Mat literal = xt::zeros<double>({n});
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < n; ++j) {
                    const double a_ij = i == 0 ? av2(j) : av2(i);  // 003's printed first row
                    literal(i) += a_ij * ((i == j ? 1.0 : 0.0) - av2(j)) * gv(j);
                }
            const Mat numeric = central_differences([&](const Mat& p) { return softmax_energy(p, gv); }, xv);
            require_erratum(literal, sample(grad_of(x), 0), numeric, "003's printed A");
            // J where J^T is meant is harmless: J is symmetric, so J g = J^T g.
            const Mat j = softmax_jacobian_ref(xv);
            require_close(mat_vec(j, gv), mat_t_vec(j, gv), rel_tol<T>(), "J g = J^T g");
        }
    }
}

TEMPLATE_TEST_CASE("[F14] softmax + cross-entropy: delta = a sum(y) - y (a - y for one-hot y)",
                   "[F14][formulas] 002 eq 19", float, double) {
    using T = TestType;
    tg::Generator gen(114);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        auto s = random_leaf<T>({batch, n_out}, gen);
        auto s_fused = tg::Tensor<T>(s.value(), true);
        auto s_mean = tg::Tensor<T>(s.value(), true);
        auto y = target_summing_to<T>(gen, batch, n_out, 2.0);  // sums to 2: the general form
        (-tg::sum(y * tg::log(tg::softmax(s)))).backward();     // 002: softmax layer, then eq 2
        tg::cross_entropy(s_fused, y, tg::Reduction::Sum).backward();
        tg::cross_entropy(s_mean, y, tg::Reduction::Mean).backward();
        const Mat sm = values(s), ym = values(y);
        Mat delta = xt::zeros<double>({batch, n_out});
        for (std::size_t b = 0; b < batch; ++b) {
            const Mat a = softmax_ref(sample(sm, b)), yb = sample(ym, b);
            set_sample(delta, b, a * xt::sum(yb)() - yb);
        }
        require_matches<T>(grad_of(s), delta, "softmax then -sum y ln a: a sum(y) - y");
        require_matches<T>(grad_of(s_fused), delta, "cross_entropy(logits, y): a sum(y) - y");
        require_matches<T>(grad_of(s_mean), delta / double(batch), "mean over the batch");

        // One-hot and smoothed labels: y sums to one, delta = a - y.
        tg::Labels labels = tg::Labels::full({batch}, 0);
        for (std::size_t b = 0; b < batch; ++b) labels[b] = static_cast<std::int64_t>((2 * b + 1) % n_out);
        for (double eps : {0.0, 0.1}) {
            INFO("label smoothing " << eps);
            auto s2 = tg::Tensor<T>(s.value(), true);
            tg::cross_entropy(s2, labels, tg::Reduction::Sum, eps).backward();
            Mat expected = xt::zeros<double>({batch, n_out});
            for (std::size_t b = 0; b < batch; ++b) {
                Mat yb = xt::zeros<double>({n_out}) + eps / n_out;
                yb(labels[b]) += 1 - eps;
                set_sample(expected, b, softmax_ref(sample(sm, b)) - yb);
            }
            require_matches<T>(grad_of(s2), expected, "a - y");
        }
    }
}

TEMPLATE_TEST_CASE("[F15] output delta = H'^T grad_a C and for a sigmoid with half squares (a_j - y_j) sigma'(z_j)",
                   "[F15][formulas] 002 eq 5; 001", float, double) {
    using T = TestType;
    tg::Generator gen(115);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        auto x = random_const<T>({batch, n_in}, gen);
        auto w = random_leaf<T>({n_out, n_in}, gen);
        auto bias = random_leaf<T>({n_out}, gen);
        auto y = uniform_const<T>({batch, n_out}, gen, 0, 1);
        auto z = tg::linear(x, w, bias);
        z.retain_grad();
        tg::half_sum_squares(tg::sigmoid(z), y, tg::Reduction::Sum).backward();
        auto z2 = tg::linear(x, w, bias);
        z2.retain_grad();
        tg::half_sum_squares(tg::softmax(z2), y, tg::Reduction::Sum).backward();

        const Mat zm = values(z), ym = values(y);
        Mat delta_sigmoid = xt::zeros<double>({batch, n_out});
        Mat delta_softmax = xt::zeros<double>({batch, n_out});
        for (std::size_t b = 0; b < batch; ++b) {
            for (std::size_t j = 0; j < n_out; ++j) {
                const double a = sigmoid(zm(b, j));
                delta_sigmoid(b, j) = (a - ym(b, j)) * a * (1 - a);  // 001: dC/dz_j = (a_j - y_j) f'(z_j)
            }
            // 002 eq 5 with the full softmax H' and grad_a C = a - y.
            const Mat zs = sample(zm, b);
            const Mat grad_a = softmax_ref(zs) - sample(ym, b);
            set_sample(delta_softmax, b, mat_t_vec(softmax_jacobian_ref(zs), grad_a));
        }
        require_matches<T>(grad_of(z), delta_sigmoid, "sigmoid output: (a - y) sigma'(z)");
        require_matches<T>(grad_of(z2), delta_softmax, "softmax output: H'^T (a - y)");
    }
}
