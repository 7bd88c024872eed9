// tapegrad's MLP train step, shared by the timing benchmark and the allocation counter.
#pragma once

#include <cmath>

#include <xtensor/xadapt.hpp>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/ops.hpp>
#include "workloads.hpp"

namespace tgbench {

namespace tg = tapegrad;
namespace wl = workloads;

inline tg::TensorF make(const tg::Shape& shape, float scale, std::uint64_t seed, bool requires_grad = false) {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    xt::xarray<float> value = xt::adapt(wl::uniform(n, scale, seed), shape);
    return tg::TensorF(std::move(value), requires_grad);
}

/// 784-256-128-10 with ReLU, initialised as PyTorch's Linear (uniform in +-1/sqrt(in)).
struct Mlp {
    std::vector<tg::TensorF> params;  // W1, b1, W2, b2, W3, b3

    Mlp() {
        const std::size_t sizes[] = {wl::kIn, wl::kHidden1, wl::kHidden2, wl::kClasses};
        for (std::size_t l = 0; l < 3; ++l) {
            const float bound = 1.0F / std::sqrt(static_cast<float>(sizes[l]));
            params.push_back(make({sizes[l + 1], sizes[l]}, bound, 10 + l, true));
            params.push_back(make({sizes[l + 1]}, bound, 20 + l, true));
        }
    }

    /// The step with a gradient penalty (create_graph): loss + 1e-3 * sum ||dloss/dp||^2, whose
    /// backward goes through the recorded first backward. The output list is reused, as a
    /// caller that cares about allocations would.
    float penalty_step(const tg::TensorF& x, const tg::Labels& y) {
        auto& p = params;
        auto h1 = tg::relu(tg::linear(x, p[0], p[1]));
        auto h2 = tg::relu(tg::linear(h1, p[2], p[3]));
        outputs.assign(1, tg::cross_entropy(tg::linear(h2, p[4], p[5]), y));
        const auto grads = tg::grad<float>(outputs, p, {}, std::nullopt, /*create_graph=*/true);
        tg::TensorF total = outputs[0];
        for (const auto& g : grads) total = total + tg::sum(tg::square(g)) * 1e-3F;
        total.backward();
        sgd();
        return total.item();
    }

    std::vector<tg::TensorF> outputs;

    /// Forward, cross-entropy with logits, backward, then sgd(). Returns the loss.
    float step(const tg::TensorF& x, const tg::Labels& y) {
        auto& p = params;
        auto h1 = tg::relu(tg::linear(x, p[0], p[1]));
        auto h2 = tg::relu(tg::linear(h1, p[2], p[3]));
        auto loss = tg::cross_entropy(tg::linear(h2, p[4], p[5]), y);
        loss.backward();
        sgd();
        return loss.item();
    }

    /// Plain SGD as an optimiser does it: in place, outside the graph, dropping each gradient.
    void sgd() {
        tg::NoGradGuard no_grad;
        for (auto& t : params) {
            const float* g = t.grad().value().data();
            float* v = t.mutable_value().data();
            for (std::size_t k = 0, n = t.numel(); k < n; ++k) v[k] -= wl::kLr * g[k];
            t.zero_grad();
        }
    }
};

}  // namespace tgbench
