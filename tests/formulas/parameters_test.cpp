// [F22]-[F24]: what the gradient of the parameters looks like: the bias folded into the weights
// (002 §2.2), the gradient's shape (002 §1, §2.3) and the whole gradient vector (001's closing ∇C).
#include <catch2/catch.hpp>

#include "reference_net.hpp"

using namespace formulas;

TEMPLATE_TEST_CASE(
    "[F22] bias folded into the weights: (W b)(a 1)^T = W a + b and grad b is the last column of its gradient",
    "[F22][formulas] 002 §2.2 closing remark", float, double) {
    using T = TestType;
    tg::Generator gen(122);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        auto x = random_const<T>({batch, n_in}, gen);
        auto w = random_leaf<T>({n_out, n_in}, gen);
        auto b = random_leaf<T>({n_out}, gen);
        auto g = random_const<T>({batch, n_out}, gen);
        auto w_tilde = tg::concat<T>({w, tg::reshape(b, {n_out, 1})}, 1);
        w_tilde.retain_grad();
        auto a_tilde = tg::concat<T>({x, tg::ones<T>({batch, 1})}, 1);
        auto y = tg::linear(a_tilde, w_tilde);
        weighted_sum(y, g).backward();

        const Mat xm = values(x), wm = values(w), bm = values(b), gm = values(g);
        Mat wt = xt::zeros<double>({n_out, n_in + 1});  // W~ = [W b], built by hand
        for (std::size_t j = 0; j < n_out; ++j) {
            for (std::size_t i = 0; i < n_in; ++i) wt(j, i) = wm(j, i);
            wt(j, n_in) = bm(j);
        }
        Mat folded = xt::zeros<double>({batch, n_out}), plain = xt::zeros<double>({batch, n_out});
        Mat grad_wt = xt::zeros<double>({n_out, n_in + 1}), grad_b = xt::zeros<double>({n_out});
        for (std::size_t s = 0; s < batch; ++s) {
            Mat at = xt::zeros<double>({n_in + 1});  // a~ = [a; 1]
            for (std::size_t i = 0; i < n_in; ++i) at(i) = xm(s, i);
            at(n_in) = 1;
            set_sample(folded, s, mat_vec(wt, at));
            set_sample(plain, s, mat_vec(wm, sample(xm, s)) + bm);
            grad_wt += outer(sample(gm, s), at);  // delta a~^T
            grad_b += sample(gm, s);              // delta
        }
        require_matches<T>(values(y), plain, "W~ a~ = W a + b (tape)");
        require_close(folded, plain, 1e-14, "W~ a~ = W a + b (by hand)");
        require_matches<T>(grad_of(w_tilde), grad_wt, "grad W~ = delta a~^T");
        Mat last_column = xt::zeros<double>({n_out});
        for (std::size_t j = 0; j < n_out; ++j) last_column(j) = grad_wt(j, n_in);
        require_close(last_column, grad_b, 1e-14, "the last column of delta a~^T is delta");
        require_matches<T>(grad_of(b), grad_b, "the bias leaf gets the last column");
    }
}

TEMPLATE_TEST_CASE("[F23] the gradient has its parameter's shape: gradient = transpose of the derivative",
                   "[F23][formulas] 002 §1; 002 §2.3", float, double) {
    using T = TestType;
    tg::Generator gen(123);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        auto x = random_const<T>({batch, n_in}, gen);
        auto w = random_leaf<T>({n_out, n_in}, gen);
        auto b = random_leaf<T>({n_out}, gen);
        auto g = random_const<T>({batch, n_out}, gen);
        weighted_sum(tg::linear(x, w, b), g).backward();
        REQUIRE(w.grad().shape() == w.shape());
        REQUIRE(b.grad().shape() == b.shape());
        // 002 eq 8-10: the derivative dC/dW has (j, k) element a_j delta_k: N^(L-1) x N^(L).
        const Mat xm = values(x), gm = values(g);
        Mat derivative = xt::zeros<double>({n_in, n_out});
        for (std::size_t s = 0; s < batch; ++s)
            for (std::size_t j = 0; j < n_in; ++j)
                for (std::size_t k = 0; k < n_out; ++k) derivative(j, k) += xm(s, j) * gm(s, k);
        REQUIRE(shape_of(derivative) != shape_of(values(w)));  // non-square: only the transpose fits
        require_matches<T>(grad_of(w), transposed(derivative), "grad W = (dC/dW)^T");
    }
    // Every parameter of a whole network.
    TapeNet<T> net({5, 4, 3, 2}, {Act::Tanh, Act::Sigmoid, Act::Softmax}, gen);
    auto x = random_const<T>({3, 5}, gen);
    TapeNet<T>::cost(Cost::CrossEntropy, net.forward(x), random_targets<T>(gen, 3, 2)).backward();
    for (const auto& p : net.parameters()) {
        REQUIRE(p.grad().defined());
        REQUIRE(p.grad().shape() == p.shape());
    }
}

TEMPLATE_TEST_CASE("[F24] the whole gradient stacks every dC/dw and dC/db and its length is the number of parameters",
                   "[F24][formulas] 001 closing ∇C", float, double) {
    using T = TestType;
    const std::vector<std::size_t> sizes = {5, 6, 4, 3};  // 001's L_0 .. L_l
    tg::Generator gen(124);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        TapeNet<T> net(sizes, {Act::Sigmoid, Act::Sigmoid, Act::Sigmoid}, gen);
        auto x = random_const<T>({batch, sizes.front()}, gen);
        auto y = uniform_const<T>({batch, sizes.back()}, gen, 0, 1);
        TapeNet<T>::cost(Cost::HalfSquares, net.forward(x), y).backward();
        const RefNet ref = net.reference();
        const RefGrads grads = layer_gradients(ref, values(x), values(y), Cost::HalfSquares);

        // 001's order: every weight of layer 1, ..., of layer l, then every bias.
        std::vector<double> tape_vector, hand_vector;
        for (std::size_t l = 0; l < ref.size(); ++l) {
            for (double v : grad_of(net.layers[l]->weight())) tape_vector.push_back(v);
            for (double v : grads.w[l]) hand_vector.push_back(v);
        }
        for (std::size_t l = 0; l < ref.size(); ++l) {
            for (double v : grad_of(net.layers[l]->bias())) tape_vector.push_back(v);
            for (double v : grads.b[l]) hand_vector.push_back(v);
        }
        std::size_t count = 0, module_count = 0;
        for (std::size_t l = 1; l < sizes.size(); ++l) count += sizes[l] * sizes[l - 1] + sizes[l];
        for (const auto& layer : net.layers) module_count += layer->num_parameters();
        REQUIRE(count == 79);  // 6*5 + 6 + 4*6 + 4 + 3*4 + 3, by hand
        REQUIRE(tape_vector.size() == count);
        REQUIRE(module_count == count);
        const Mat tape_grad = from_vector(tape_vector);
        require_matches<T>(tape_grad, from_vector(hand_vector), "the stacked gradient");

        if constexpr (std::is_same_v<T, double>) {
            // It is the whole gradient: grad C . v is the directional derivative along any v.
            tg::Generator dir_gen(1240);
            Mat v = xt::zeros<double>({count});
            for (double& e : v) e = dir_gen.normal();
            const auto moved = [&](double h) {
                RefNet n = ref;
                std::size_t k = 0;
                for (auto& layer : n)
                    for (double& e : layer.w) e += h * v(k++);
                for (auto& layer : n)
                    for (double& e : layer.b) e += h * v(k++);
                return batch_cost(n, values(x), values(y), Cost::HalfSquares);
            };
            const double h = 1e-6, numeric = (moved(h) - moved(-h)) / (2 * h);
            double dot = 0;
            for (std::size_t k = 0; k < count; ++k) dot += tape_grad(k) * v(k);
            INFO("grad . v = " << dot << ", central difference " << numeric);
            REQUIRE(std::abs(dot - numeric) <= fd_tol * std::max(1.0, std::abs(numeric)));
        }
    }
}
