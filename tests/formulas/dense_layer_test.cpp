// [F01]-[F04]: the dense layer's forward and its three gradients (seeds 000 §2, 002 §2, 003).
// The documents work per sample with column vectors and W out x in; the library takes one sample
// per row, y = x W^T + b. Each closed form is written per sample with the helpers' plain loops
// and summed over the batch.
#include <catch2/catch.hpp>

#include "formula_fixtures.hpp"

using namespace formulas;

namespace {

/// A dense layer's leaves and an upstream gradient G (dE/dy), for one batch size.
template <class T>
struct DenseCase {
    tg::Tensor<T> x, w, b, g;
    Mat xm, wm, bm, gm;

    DenseCase(tg::Generator& gen, std::size_t batch, std::size_t in, std::size_t out)
        : x(random_leaf<T>({batch, in}, gen)),
          w(random_leaf<T>({out, in}, gen)),
          b(random_leaf<T>({out}, gen)),
          g(random_const<T>({batch, out}, gen)),
          xm(values(x)),
          wm(values(w)),
          bm(values(b)),
          gm(values(g)) {}

    std::size_t batch() const { return xm.shape(0); }

    /// E = sum(G ⊙ linear(x, W, b)), run backward: dE/dy = G.
    tg::Tensor<T> run() {
        auto y = tg::linear(x, w, b);
        weighted_sum(y, g).backward();
        return y;
    }
};

/// E(W) = sum_j g_j (sum_i W_ji x_i + b_j) in plain loops, for central differences in W.
double dense_energy(const Mat& w, const Mat& x, const Mat& b, const Mat& g) {
    double e = 0;
    for (std::size_t j = 0; j < w.shape(0); ++j) {
        double y = b(j);
        for (std::size_t i = 0; i < w.shape(1); ++i) y += w(j, i) * x(i);
        e += g(j) * y;
    }
    return e;
}

}  // namespace

TEMPLATE_TEST_CASE("[F01] dense forward: y = W x + b with W out x in (and 004's transposed layout)",
                   "[F01][formulas] 002 eq 1a; 003 Dense Layer; 000 §2.1; 004 eq 1", float, double) {
    using T = TestType;
    tg::Generator gen(101);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        DenseCase<T> c(gen, batch, n_in, n_out);
        // 004: w_ij joins input i to output j, so its matrix V is in x out and y_j = sum_i v_ij x_i + b_j.
        tg::Tensor<T> v(xt::xarray<T>(xt::cast<T>(transposed(c.wm))), true);
        auto y004 = tg::matmul(c.x, v) + c.b;
        weighted_sum(y004, c.g).backward();
        auto y = c.run();

        Mat expected = xt::zeros<double>({batch, n_out});
        Mat expected004 = xt::zeros<double>({batch, n_out});
        Mat dv = xt::zeros<double>({n_in, n_out});
        for (std::size_t s = 0; s < batch; ++s) {
            const Mat xs = sample(c.xm, s);
            set_sample(expected, s, mat_vec(c.wm, xs) + c.bm);
            for (std::size_t j = 0; j < n_out; ++j) {
                expected004(s, j) = c.bm(j);
                for (std::size_t i = 0; i < n_in; ++i) {
                    expected004(s, j) += c.wm(j, i) * xs(i);  // v_ij = w_ji
                    dv(i, j) += c.gm(s, j) * xs(i);           // 004 eq 3: dE/dv_ij = delta_j x_i
                }
            }
        }
        require_matches<T>(values(y), expected, "y = W x + b");
        require_matches<T>(values(y004), expected004, "004 layout: y_j = sum_i v_ij x_i + b_j");
        require_matches<T>(grad_of(v), dv, "004 layout: dE/dv_ij = (dE/dy_j) x_i");
        require_matches<T>(grad_of(v), transposed(grad_of(c.w)), "the two layouts' weight gradients are transposes");
    }
    if constexpr (std::is_same_v<T, double>) {
        SECTION("erratum: 000 §2.1 writes y = W^T x + b") {
            // With W out x in (out != in), W^T x does not even conform: W^T has out columns.
            REQUIRE(n_out != n_in);
            // On a square layer it conforms but is another function: its y and its weight gradient
            // (dE/dW_ji = x_j g_i for E = <g, W^T x + b>) disagree with the tape and with differences.
            DenseCase<T> c(gen, 1, 4, 4);
            auto y = c.run();
            const Mat xs = sample(c.xm, 0), gs = sample(c.gm, 0);
            require_disagrees(mat_t_vec(c.wm, xs) + c.bm, sample(values(y), 0), "y = W^T x + b vs the tape's y");
            const Mat numeric = central_differences([&](const Mat& w) { return dense_energy(w, xs, c.bm, gs); }, c.wm);
            require_erratum(outer(xs, gs), grad_of(c.w), numeric, "dE/dW implied by y = W^T x + b");
        }
    }
}

TEMPLATE_TEST_CASE("[F02] dense weight gradient: dE/dW = (dE/dy) x^T and batched G^T X",
                   "[F02][formulas] 000 §2.2; 003 Back propagation; 002 eq 11", float, double) {
    using T = TestType;
    tg::Generator gen(102);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        DenseCase<T> c(gen, batch, n_in, n_out);
        c.run();
        Mat dw = xt::zeros<double>({n_out, n_in});
        for (std::size_t s = 0; s < batch; ++s) dw += outer(sample(c.gm, s), sample(c.xm, s));
        require_matches<T>(grad_of(c.w), dw, "dE/dw_ji = (dE/dy_j) x_i summed over the batch");
    }
    if constexpr (std::is_same_v<T, double>) {
        SECTION("erratum: 000 §2.2 writes the general element as dE/dw_ii = (dE/dy_i) x_i") {
            // Read as the general element (j, i) it gives g_i x_i, which needs a square layer to be
            // evaluated at all; it is right on the diagonal only.
            DenseCase<T> c(gen, 1, 4, 4);
            c.run();
            const Mat xs = sample(c.xm, 0), gs = sample(c.gm, 0);
            Mat literal = xt::zeros<double>({4, 4});
            for (std::size_t j = 0; j < 4; ++j)
                for (std::size_t i = 0; i < 4; ++i) literal(j, i) = gs(i) * xs(i);
            const Mat tape = grad_of(c.w);
            const Mat numeric = central_differences([&](const Mat& w) { return dense_energy(w, xs, c.bm, gs); }, c.wm);
            require_erratum(literal, tape, numeric, "dE/dw_ji read as (dE/dy_i) x_i");
            Mat literal_diag = xt::zeros<double>({4}), tape_diag = xt::zeros<double>({4});
            for (std::size_t i = 0; i < 4; ++i) {
                literal_diag(i) = literal(i, i);
                tape_diag(i) = tape(i, i);
            }
            require_close(literal_diag, tape_diag, rel_tol<T>(), "on the diagonal the literal is right");
        }
    }
}

TEMPLATE_TEST_CASE("[F03] dense bias gradient: dE/db = dE/dy and batched the sum of G over rows",
                   "[F03][formulas] 000 §2.2; 003; 002 eq 7", float, double) {
    using T = TestType;
    tg::Generator gen(103);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        DenseCase<T> c(gen, batch, n_in, n_out);
        c.run();
        Mat db = xt::zeros<double>({n_out});
        for (std::size_t s = 0; s < batch; ++s) db += sample(c.gm, s);
        require_matches<T>(grad_of(c.b), db, "dE/db = dE/dy summed over the batch");
    }
}

TEMPLATE_TEST_CASE("[F04] dense input gradient: dE/dx = W^T (dE/dy) and batched G W",
                   "[F04][formulas] 003 Back propagation; 000 §2.2", float, double) {
    using T = TestType;
    tg::Generator gen(104);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        DenseCase<T> c(gen, batch, n_in, n_out);
        c.run();
        Mat dx = xt::zeros<double>({batch, n_in});
        for (std::size_t s = 0; s < batch; ++s) set_sample(dx, s, mat_t_vec(c.wm, sample(c.gm, s)));
        require_matches<T>(grad_of(c.x), dx, "dE/dx = W^T dE/dy for every sample");
    }
    if constexpr (std::is_same_v<T, double>) {
        SECTION("erratum: 000 §2.2 writes dE/dX = (dE/dY) W^T") {
            // For column vectors, (dE/dY) is out x 1 and W^T is in x out: inner dimensions 1 and in.
            REQUIRE(std::size_t{1} != n_in);
            // It is the row-vector form: (dE/dy)^T W, whose entries sum_j g_j W_ji are the tape's.
            DenseCase<T> c(gen, 1, n_in, n_out);
            c.run();
            const Mat gs = sample(c.gm, 0);
            Mat row_form = xt::zeros<double>({n_in});
            for (std::size_t i = 0; i < n_in; ++i)
                for (std::size_t j = 0; j < n_out; ++j) row_form(i) += gs(j) * c.wm(j, i);
            require_matches<T>(sample(grad_of(c.x), 0), row_form, "(dE/dy)^T W is the tape's dE/dx");
            // Where it does conform (a square layer, row vector times W^T) it is another vector.
            DenseCase<T> sq(gen, 1, 4, 4);
            sq.run();
            const Mat gq = sample(sq.gm, 0);
            Mat literal = xt::zeros<double>({4});
            for (std::size_t i = 0; i < 4; ++i)
                for (std::size_t j = 0; j < 4; ++j) literal(i) += gq(j) * sq.wm(i, j);  // (g^T W^T)_i
            const Mat numeric =
                central_differences([&](const Mat& x) { return dense_energy(sq.wm, x, sq.bm, gq); }, sample(sq.xm, 0));
            require_erratum(literal, sample(grad_of(sq.x), 0), numeric, "dE/dx read as (dE/dy)^T W^T");
        }
    }
}
