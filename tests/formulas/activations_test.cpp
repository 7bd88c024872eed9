// [F05]-[F08]: elementwise activations and their derivatives (seeds 000 §3, 001, 002 eq 17, 003).
// Each test seeds the tape with a random upstream gradient G = dE/dy (E = sum(G ⊙ f(x))) and
// compares dE/dx with G ⊙ f'(x), f' written with <cmath>.
#include <catch2/catch.hpp>

#include <functional>

#include "formula_fixtures.hpp"

using namespace formulas;

namespace {

template <class T>
using Unary = std::function<tg::Tensor<T>(const tg::Tensor<T>&)>;

/// x (batch x n_in) and G, E = sum(G ⊙ f(x)) run backward; returns {x, G}.
template <class T>
std::pair<tg::Tensor<T>, tg::Tensor<T>> run_activation(const Unary<T>& f, tg::Generator& gen, std::size_t batch,
                                                       double stddev = 1.5) {
    auto x = random_leaf<T>({batch, n_in}, gen, stddev);
    auto g = random_const<T>({batch, n_in}, gen);
    weighted_sum(f(x), g).backward();
    return {x, g};
}

/// dE/dx = G ⊙ f'(x), elementwise in plain loops.
Mat hadamard_derivative(const Mat& g, const Mat& x, double (*df)(double)) {
    Mat r = xt::zeros<double>(x.shape());
    for (std::size_t k = 0; k < x.size(); ++k) r.flat(k) = g.flat(k) * df(x.flat(k));
    return r;
}

double sigmoid_prime(double z) {
    return std::exp(z) / ((std::exp(z) + 1) * (std::exp(z) + 1));
}
double sigmoid_prime_from_value(double z) {
    return sigmoid(z) * (1 - sigmoid(z));
}
double tanh_prime(double x) {
    return 1 - std::tanh(x) * std::tanh(x);
}
double relu_prime(double x) {
    return x <= 0 ? 0.0 : 1.0;
}  // 003: g'(x) = 0 for x <= 0

}  // namespace

TEMPLATE_TEST_CASE("[F05] elementwise activation: dE/dx = dE/dy ⊙ f'(x) and the Jacobian is diag(f'(s))",
                   "[F05][formulas] 000 §3.2; 003 Activation Layer; 002 eq 17", float, double) {
    using T = TestType;
    struct Activation {
        const char* name;
        Unary<T> f;
        double (*df)(double);
    };
    const std::vector<Activation> activations = {
        {"sigmoid", [](const tg::Tensor<T>& x) { return tg::sigmoid(x); }, sigmoid_prime},
        {"tanh", [](const tg::Tensor<T>& x) { return tg::tanh(x); }, tanh_prime},
        {"relu", [](const tg::Tensor<T>& x) { return tg::relu(x); }, relu_prime},
    };
    tg::Generator gen(105);
    for (const auto& act : activations) {
        INFO("activation " << act.name);
        for (std::size_t batch : batch_sizes) {
            INFO("batch " << batch);
            auto [x, g] = run_activation<T>(act.f, gen, batch);
            require_matches<T>(grad_of(x), hadamard_derivative(values(g), values(x), act.df), "dE/dx = dE/dy ⊙ f'(x)");
        }
        // The full Jacobian of one sample, row k from the vector-Jacobian product with e_k.
        auto s = random_leaf<T>({1, n_in}, gen);
        auto a = act.f(s);
        const Mat sm = values(s);
        Mat jacobian = xt::zeros<double>({n_in, n_in});
        Mat expected = xt::zeros<double>({n_in, n_in});
        for (std::size_t k = 0; k < n_in; ++k) {
            auto e_k = tg::zeros<T>({1, n_in});
            e_k.mutable_value()(0, k) = 1;
            const Mat row = values(tg::grad<T>({a}, {s}, {e_k}, true)[0]);
            for (std::size_t j = 0; j < n_in; ++j) jacobian(k, j) = row(0, j);
            expected(k, k) = act.df(sm(0, k));
        }
        require_matches<T>(jacobian, expected, "da/ds = H' = diag(f'(s))");
    }
}

TEMPLATE_TEST_CASE("[F06] sigmoid derivative: sigma'(z) = sigma(z)(1 - sigma(z)) = e^z / (e^z + 1)^2",
                   "[F06][formulas] 001 f'(z)", float, double) {
    using T = TestType;
    tg::Generator gen(106);
    const Unary<T> f = [](const tg::Tensor<T>& z) { return tg::sigmoid(z); };
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        auto [z, g] = run_activation<T>(f, gen, batch, 2.0);
        const Mat tape = grad_of(z);
        require_matches<T>(tape, hadamard_derivative(values(g), values(z), sigmoid_prime), "e^z / (e^z + 1)^2");
        require_matches<T>(tape, hadamard_derivative(values(g), values(z), sigmoid_prime_from_value),
                           "sigma(z)(1 - sigma(z))");
    }
    if constexpr (std::is_same_v<T, double>) {
        SECTION("erratum: 001 writes f'(z) = -e^z / (e^z + 1)^2") {
            auto [z, g] = run_activation<T>(f, gen, 1, 2.0);
            const Mat zm = values(z), gm = values(g);
            const Mat literal = hadamard_derivative(gm, zm, [](double t) { return -sigmoid_prime(t); });
            const Mat numeric = central_differences(
                [&](const Mat& p) {
                    double e = 0;
                    for (std::size_t k = 0; k < p.size(); ++k) e += gm.flat(k) * sigmoid(p.flat(k));
                    return e;
                },
                zm);
            require_erratum(literal, grad_of(z), numeric, "sigmoid'");
        }
    }
}

TEMPLATE_TEST_CASE("[F07] ReLU derivative: g'(x) = 0 for x <= 0 (0 at exactly 0) and 1 otherwise",
                   "[F07][formulas] 003 ReLU", float, double) {
    using T = TestType;
    tg::Generator gen(107);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        xt::xarray<T> raw = random_const<T>({batch, n_in}, gen).value();
        for (std::size_t k = 0; k < raw.size(); k += 3) raw.flat(k) = 0;  // the kink itself, on purpose
        tg::Tensor<T> x(raw, true);
        auto g = random_const<T>({batch, n_in}, gen);
        weighted_sum(tg::relu(x), g).backward();
        const Mat tape = grad_of(x);
        require_matches<T>(tape, hadamard_derivative(values(g), values(x), relu_prime), "dE/dx = dE/dy ⊙ g'(x)");
        for (std::size_t k = 0; k < raw.size(); k += 3) REQUIRE(tape.flat(k) == 0.0);
    }
}

TEMPLATE_TEST_CASE("[F08] tanh derivative: tanh'(x) = 1 - tanh(x)^2", "[F08][formulas] 000 §3 (tanh named)", float,
                   double) {
    using T = TestType;
    tg::Generator gen(108);
    const Unary<T> f = [](const tg::Tensor<T>& x) { return tg::tanh(x); };
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        auto [x, g] = run_activation<T>(f, gen, batch);
        require_matches<T>(grad_of(x), hadamard_derivative(values(g), values(x), tanh_prime), "1 - tanh(x)^2");
    }
}
