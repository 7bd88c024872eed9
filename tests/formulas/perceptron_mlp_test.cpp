// [F18], [F19]: seed 004's perceptron and multi-layer perceptron, in 004's own layout: w_ij^[k]
// joins neuron i of layer k-1 to neuron j of layer k, so a layer's matrix is (k-1 size) x (k size)
// and a^[k] = x^[k-1] W^[k] + b^[k] with one sample per row (matmul, not linear).
#include <catch2/catch.hpp>

#include "formula_fixtures.hpp"

using namespace formulas;

namespace {

// 004's shape: M inputs, N = 2 hidden layers of K neurons, P outputs.
constexpr std::size_t M = 5, K = 4, P = 3;
const std::vector<std::size_t> sizes_004 = {M, K, K, P};

enum class Loss004 { PlainSum, Halved };  // sum (yhat - y)^2 (§3.1) or 1/(2r) sum (§2.1), r = P

double phi_prime(double a) {
    return 1 - std::tanh(a) * std::tanh(a);
}  // hidden phi = tanh
double phi0_prime(double a) {
    return sigmoid(a) * (1 - sigmoid(a));
}  // output phi0 = sigmoid > 0

/// One sample through 004's network by its equations 1, 2, 6, 7: a[k] and x[k], k = 1..N+1.
struct Forward004 {
    std::vector<Mat> a, x;
};
Forward004 forward_004(const std::vector<Mat>& w, const std::vector<Mat>& b, const Mat& input) {
    Forward004 f{{Mat()}, {input}};
    for (std::size_t k = 1; k < sizes_004.size(); ++k) {
        Mat a = b[k];  // a_j^[k] = sum_i w_ij^[k] x_i^[k-1] + b_j^[k]
        for (std::size_t j = 0; j < a.size(); ++j)
            for (std::size_t i = 0; i < f.x[k - 1].size(); ++i) a(j) += w[k](i, j) * f.x[k - 1](i);
        Mat x = xt::zeros<double>(a.shape());
        for (std::size_t j = 0; j < a.size(); ++j) x(j) = k + 1 == sizes_004.size() ? sigmoid(a(j)) : std::tanh(a(j));
        f.a.push_back(a);
        f.x.push_back(x);
    }
    return f;
}

double loss_004(Loss004 loss, const Mat& y_hat, const Mat& y) {
    double l = 0;
    for (std::size_t j = 0; j < y.size(); ++j) l += (y_hat(j) - y(j)) * (y_hat(j) - y(j));
    return loss == Loss004::PlainSum ? l : l / (2.0 * P);
}

/// 004's equations 10 and 11, corrected: delta[k] for k = 1..N+1.
std::vector<Mat> deltas_004(const std::vector<Mat>& w, const Forward004& f, const Mat& y, Loss004 loss) {
    const std::size_t out = sizes_004.size() - 1;
    std::vector<Mat> delta(out + 1);
    delta[out] = xt::zeros<double>({P});
    for (std::size_t j = 0; j < P; ++j) {
        const double r = f.x[out](j) - y(j);
        delta[out](j) = (loss == Loss004::PlainSum ? 2 * r : r / double(P)) * phi0_prime(f.a[out](j));
    }
    for (std::size_t k = out - 1; k >= 1; --k) {
        delta[k] = xt::zeros<double>(f.a[k].shape());
        for (std::size_t j = 0; j < delta[k].size(); ++j) {
            double back = 0;
            for (std::size_t l = 0; l < delta[k + 1].size(); ++l) back += w[k + 1](j, l) * delta[k + 1](l);
            delta[k](j) = phi_prime(f.a[k](j)) * back;  // eq 11
        }
    }
    return delta;
}

/// 004's network on the tape; a[k] retained so their gradients are the deltas.
template <class T>
struct Mlp004 {
    std::vector<tg::Tensor<T>> w{tg::Tensor<T>()}, b{tg::Tensor<T>()}, a{tg::Tensor<T>()};
    std::vector<Mat> wm{Mat()}, bm{Mat()};

    explicit Mlp004(tg::Generator& gen) {
        for (std::size_t k = 1; k < sizes_004.size(); ++k) {
            w.push_back(random_leaf<T>({sizes_004[k - 1], sizes_004[k]}, gen, 0.7));
            b.push_back(random_leaf<T>({sizes_004[k]}, gen, 0.5));
            wm.push_back(values(w.back()));
            bm.push_back(values(b.back()));
        }
    }

    void run(const tg::Tensor<T>& input, const tg::Tensor<T>& y, Loss004 loss) {
        tg::Tensor<T> x = input;
        for (std::size_t k = 1; k < sizes_004.size(); ++k) {
            a.push_back(tg::matmul(x, w[k]) + b[k]);
            a.back().retain_grad();
            x = k + 1 == sizes_004.size() ? tg::sigmoid(a.back()) : tg::tanh(a.back());
        }
        auto total = tg::sum(tg::square(x - y));
        (loss == Loss004::PlainSum ? total : total / T(2 * P)).backward();
    }
};

}  // namespace

TEMPLATE_TEST_CASE("[F18] 004 MLP output delta: 2(yhat_j - y_j) phi0'(a_j) and the whole backprop of eqs 8-11",
                   "[F18][formulas] 004 eqs 5, 8-11", float, double) {
    using T = TestType;
    tg::Generator gen(118);
    for (Loss004 loss : {Loss004::PlainSum, Loss004::Halved}) {
        INFO((loss == Loss004::PlainSum ? "L = sum (yhat - y)^2" : "L = 1/(2r) sum (yhat - y)^2"));
        for (std::size_t batch : batch_sizes) {
            INFO("batch " << batch);
            Mlp004<T> net(gen);
            auto x = random_const<T>({batch, M}, gen);
            auto y = uniform_const<T>({batch, P}, gen, 0, 1);
            net.run(x, y, loss);
            const std::size_t out = sizes_004.size() - 1;
            std::vector<Mat> delta_rows(out + 1), grad_w(out + 1), grad_b(out + 1);
            for (std::size_t k = 1; k <= out; ++k) {
                delta_rows[k] = xt::zeros<double>({batch, sizes_004[k]});
                grad_w[k] = xt::zeros<double>(net.wm[k].shape());
                grad_b[k] = xt::zeros<double>(net.bm[k].shape());
            }
            for (std::size_t s = 0; s < batch; ++s) {
                const Forward004 f = forward_004(net.wm, net.bm, sample(values(x), s));
                const std::vector<Mat> delta = deltas_004(net.wm, f, sample(values(y), s), loss);
                for (std::size_t k = 1; k <= out; ++k) {
                    set_sample(delta_rows[k], s, delta[k]);
                    grad_w[k] += outer(f.x[k - 1], delta[k]);  // eq 8: dL/dw_ij = delta_j x_i^[k-1]
                    grad_b[k] += delta[k];                     // eq 9
                }
            }
            for (std::size_t k = 1; k <= out; ++k) {
                INFO("layer " << k);
                require_matches<T>(grad_of(net.a[k]), delta_rows[k], "delta^[k] = dL/da^[k]");
                require_matches<T>(grad_of(net.w[k]), grad_w[k], "dL/dw_ij = delta_j x_i");
                require_matches<T>(grad_of(net.b[k]), grad_b[k], "dL/db_j = delta_j");
            }
        }
    }
    if constexpr (std::is_same_v<T, double>) {
        SECTION("erratum: 004 eq 10 writes delta*_j = sum_l (yhat_l - y_l) phi0'(a_l) for every j") {
            for (Loss004 loss : {Loss004::PlainSum, Loss004::Halved}) {
                Mlp004<T> net(gen);
                auto x = random_const<T>({1, M}, gen);
                auto y = uniform_const<T>({1, P}, gen, 0, 1);
                net.run(x, y, loss);
                const Forward004 f = forward_004(net.wm, net.bm, sample(values(x), 0));
                const Mat ys = sample(values(y), 0), a_out = f.a.back();
                double sum = 0;
                for (std::size_t l = 0; l < P; ++l) sum += (f.x.back()(l) - ys(l)) * phi0_prime(a_out(l));
                const Mat literal = xt::zeros<double>({P}) + sum;
                const Mat numeric = central_differences(
                    [&](const Mat& a) {
                        Mat y_hat = xt::zeros<double>({P});
                        for (std::size_t j = 0; j < P; ++j) y_hat(j) = sigmoid(a(j));
                        return loss_004(loss, y_hat, ys);
                    },
                    a_out);
                require_erratum(literal, sample(grad_of(net.a.back()), 0), numeric,
                                loss == Loss004::PlainSum ? "eq 10 for the plain sum" : "eq 10 for the 1/(2r) loss");
            }
        }
    }
}

TEMPLATE_TEST_CASE(
    "[F19] perceptron yhat = sigma(w.x + b) with L = 1/2 (yhat - y)^2: dL/dw_k = (yhat - y) sigma'(a) x_k",
    "[F19][formulas] 004 §2.1", float, double) {
    using T = TestType;
    tg::Generator gen(119);
    struct Run {
        tg::Tensor<T> w, b, x, y;
    };
    const auto run = [&gen](std::size_t batch) {
        Run r{random_leaf<T>({n_in}, gen), tg::Tensor<T>(T(0.3), true), random_const<T>({batch, n_in}, gen),
              uniform_const<T>({batch}, gen, 0, 1)};
        tg::half_sum_squares(tg::sigmoid(tg::matmul(r.x, r.w) + r.b), r.y, tg::Reduction::Sum).backward();
        return r;
    };
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        const Run r = run(batch);
        const Mat w = values(r.w), x = values(r.x), y = values(r.y);
        Mat grad_w = xt::zeros<double>({n_in});
        Mat grad_b = xt::zeros<double>(std::vector<std::size_t>{});  // 0-d, as b
        for (std::size_t s = 0; s < batch; ++s) {
            double a = values(r.b)();
            for (std::size_t k = 0; k < n_in; ++k) a += w(k) * x(s, k);
            const double common = (sigmoid(a) - y(s)) * sigmoid(a) * (1 - sigmoid(a));  // (yhat - y) sigma'(a)
            for (std::size_t k = 0; k < n_in; ++k) grad_w(k) += common * x(s, k);
            grad_b() += common;
        }
        require_matches<T>(grad_of(r.w), grad_w, "dL/dw_k = (yhat - y) sigma'(a) x_k");
        require_matches<T>(grad_of(r.b), grad_b, "dL/db = (yhat - y) sigma'(a)");
    }
    if constexpr (std::is_same_v<T, double>) {
        SECTION("erratum: 004's bias update b <- b - alpha (yhat - y) drops sigma'(a)") {
            const Run r = run(1);
            const Mat w = values(r.w), x = sample(values(r.x), 0);
            const double y = values(r.y)(0);
            const auto loss = [&](const Mat& bias) {
                double a = bias();
                for (std::size_t k = 0; k < n_in; ++k) a += w(k) * x(k);
                return 0.5 * (sigmoid(a) - y) * (sigmoid(a) - y);
            };
            double a = values(r.b)();
            for (std::size_t k = 0; k < n_in; ++k) a += w(k) * x(k);
            Mat literal = xt::zeros<double>(std::vector<std::size_t>{});
            literal() = sigmoid(a) - y;  // the step 004 takes, divided by alpha
            require_erratum(literal, grad_of(r.b), central_differences(loss, values(r.b)), "dL/db");
        }
    }
}
