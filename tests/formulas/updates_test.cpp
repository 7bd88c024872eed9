// [F20], [F21]: the update rules, taken as real optimiser steps (optim::SGD on nn::Dense layers)
// and compared with p - eta grad computed by hand, grad from 002's backprop in plain loops.
#include <catch2/catch.hpp>

#include "reference_net.hpp"

using namespace formulas;

namespace {

const std::vector<std::size_t> sizes_updates = {5, 4, 3};
const std::vector<Act> acts_updates = {Act::Tanh, Act::Sigmoid};
constexpr double eta = 0.5;

/// Compares every parameter after the step with p - step_scale * grad, layer by layer.
template <class T>
void require_stepped(const TapeNet<T>& net, const RefNet& before, const RefGrads& grads, double step_scale) {
    for (std::size_t l = 1; l <= before.size(); ++l) {
        INFO("layer " << l);
        require_matches<T>(values(net.layers[l - 1]->weight()), before[l - 1].w - step_scale * grads.w[l - 1],
                           "W^(l) <- W^(l) - eta grad W^(l)");
        require_matches<T>(values(net.layers[l - 1]->bias()), before[l - 1].b - step_scale * grads.b[l - 1],
                           "b^(l) <- b^(l) - eta grad b^(l)");
    }
}

}  // namespace

TEMPLATE_TEST_CASE("[F20] gradient descent: one SGD step gives p - eta grad_p C for every parameter",
                   "[F20][formulas] 002 eq 14; 004 eqs 13, 14; 001", float, double) {
    using T = TestType;
    tg::Generator gen(120);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        TapeNet<T> net(sizes_updates, acts_updates, gen);
        auto x = random_const<T>({batch, sizes_updates.front()}, gen);
        auto y = uniform_const<T>({batch, sizes_updates.back()}, gen, 0, 1);
        const RefNet before = net.reference();
        const RefGrads grads = layer_gradients(before, values(x), values(y), Cost::HalfSquares);

        tg::optim::SGD<T> sgd(net.parameters(), {.lr = eta});
        sgd.zero_grad();
        TapeNet<T>::cost(Cost::HalfSquares, net.forward(x), y).backward();
        sgd.step();
        require_stepped(net, before, grads, eta);
    }
}

TEMPLATE_TEST_CASE("[F21] minibatch update: the batch-mean gradient is the mean of per-sample gradients (eq 15)",
                   "[F21][formulas] 002 eq 15", float, double) {
    using T = TestType;
    tg::Generator gen(121);
    for (std::size_t m : batch_sizes) {
        INFO("minibatch size M = " << m);
        TapeNet<T> net(sizes_updates, acts_updates, gen);
        auto x = random_const<T>({m, sizes_updates.front()}, gen);
        auto y = uniform_const<T>({m, sizes_updates.back()}, gen, 0, 1);
        const RefNet before = net.reference();
        // (grad_p C)^[i] of each sample i separately, by hand, then summed as eq 15 does.
        RefGrads summed =
            layer_gradients(before, sample_rows(values(x), 0, 1), sample_rows(values(y), 0, 1), Cost::HalfSquares);
        for (std::size_t i = 1; i < m; ++i) {
            const RefGrads gi = layer_gradients(before, sample_rows(values(x), i, i + 1),
                                                sample_rows(values(y), i, i + 1), Cost::HalfSquares);
            for (std::size_t l = 0; l < before.size(); ++l) {
                summed.w[l] += gi.w[l];
                summed.b[l] += gi.b[l];
            }
        }
        tg::optim::SGD<T> sgd(net.parameters(), {.lr = eta});
        // The batch-mean cost: half_sum_squares' Mean divides the summed per-sample costs by M.
        tg::half_sum_squares(net.forward(x), y, tg::Reduction::Mean).backward();
        for (std::size_t l = 1; l <= before.size(); ++l) {
            INFO("layer " << l);
            require_matches<T>(grad_of(net.layers[l - 1]->weight()), summed.w[l - 1] / double(m),
                               "grad W of the mean = (1/M) sum_i (grad W)^[i]");
            require_matches<T>(grad_of(net.layers[l - 1]->bias()), summed.b[l - 1] / double(m),
                               "grad b of the mean = (1/M) sum_i (grad b)^[i]");
        }
        sgd.step();
        require_stepped(net, before, summed, eta / double(m));  // p <- p - (eta/M) sum_i (grad_p C)^[i]
    }
}
