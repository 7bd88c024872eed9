// Whole networks for [F16], [F17], [F20], [F21], [F24], [F25]: the same network twice, once on
// the tape (nn::Dense layers, pre-activations retained so their gradients are the deltas) and
// once as plain float64 matrices whose per-sample forward follows seed 002's eqs 1a, 1b.
// The backprop algorithms themselves are written in each test, in its document's notation.
#pragma once

#include <memory>
#include <vector>

#include <tapegrad/nn/nn.hpp>
#include "formula_fixtures.hpp"

namespace formulas {

enum class Act { Sigmoid, Tanh, Softmax };
enum class Cost { CrossEntropy, HalfSquares };

/// One layer l of the documents: W^(l) is N^(l) x N^(l-1), b^(l) has N^(l) entries.
struct RefLayer {
    Mat w, b;
    Act act;
};
using RefNet = std::vector<RefLayer>;

/// h(s) for one sample.
inline Mat activate(Act act, const Mat& s) {
    if (act == Act::Softmax) return softmax_ref(s);
    Mat a = xt::zeros<double>(s.shape());
    for (std::size_t i = 0; i < s.size(); ++i) a(i) = act == Act::Sigmoid ? sigmoid(s(i)) : std::tanh(s(i));
    return a;
}

/// 002 eq 17 (diag(h'(s)) for an elementwise h) or §3.2 (softmax): H' = da/ds.
inline Mat activation_jacobian(Act act, const Mat& s) {
    if (act == Act::Softmax) return softmax_jacobian_ref(s);
    const std::size_t n = s.size();
    Mat h = xt::zeros<double>({n, n});
    for (std::size_t i = 0; i < n; ++i) {
        const double a = act == Act::Sigmoid ? sigmoid(s(i)) : std::tanh(s(i));
        h(i, i) = act == Act::Sigmoid ? a * (1 - a) : 1 - a * a;
    }
    return h;
}

/// The per-sample cost: 002 eq 2 (cross-entropy) or 001's C = 1/2 sum (y_j - a_j)^2.
inline double cost_value(Cost cost, const Mat& a, const Mat& y) {
    double c = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        c += cost == Cost::CrossEntropy ? -y(i) * std::log(a(i)) : 0.5 * (y(i) - a(i)) * (y(i) - a(i));
    return c;
}

/// grad_a C: 002 eq 3 (-y_i / a_i) or 001's (a_j - y_j).
inline Mat cost_gradient(Cost cost, const Mat& a, const Mat& y) {
    Mat g = xt::zeros<double>(a.shape());
    for (std::size_t i = 0; i < a.size(); ++i) g(i) = cost == Cost::CrossEntropy ? -y(i) / a(i) : a(i) - y(i);
    return g;
}

/// The feedforward of one sample: s[l] and a[l] for l = 1..L (index 0: a[0] = x, s[0] unused).
struct RefForward {
    std::vector<Mat> s, a;
};
inline RefForward ref_forward(const RefNet& net, const Mat& x) {
    RefForward f{{Mat()}, {x}};
    for (const auto& layer : net) {
        f.s.push_back(mat_vec(layer.w, f.a.back()) + layer.b);  // 002 eq 1a
        f.a.push_back(activate(layer.act, f.s.back()));         // 002 eq 1b
    }
    return f;
}

/// 002's summary, steps 1 and 2, for one sample: delta[l], l = 1..L (delta[0] unused).
///   delta^(L) = H'^(L)T grad_a C                      (eq 5)
///   delta^(l) = H'^(l)T W^(l+1)T delta^(l+1)          (eq 13)
inline std::vector<Mat> backprop_deltas(const RefNet& net, const RefForward& f, const Mat& y, Cost cost) {
    const std::size_t L = net.size();
    std::vector<Mat> delta(L + 1);
    delta[L] = mat_t_vec(activation_jacobian(net[L - 1].act, f.s[L]), cost_gradient(cost, f.a[L], y));
    for (std::size_t l = L - 1; l >= 1; --l)
        delta[l] = mat_t_vec(activation_jacobian(net[l - 1].act, f.s[l]), mat_t_vec(net[l].w, delta[l + 1]));
    return delta;
}

/// Every layer's gradient, w[l - 1] and b[l - 1] for layer l.
struct RefGrads {
    std::vector<Mat> w, b;
};

/// 002's steps 3 and 4 (eqs 7, 11), summed over the rows of x and y:
///   grad b^(l) = delta^(l),   grad W^(l) = delta^(l) a^(l-1)T.
inline RefGrads layer_gradients(const RefNet& net, const Mat& x, const Mat& y, Cost cost) {
    RefGrads g;
    for (const auto& layer : net) {
        g.w.push_back(xt::zeros<double>(layer.w.shape()));
        g.b.push_back(xt::zeros<double>(layer.b.shape()));
    }
    for (std::size_t s = 0; s < x.shape(0); ++s) {
        const RefForward f = ref_forward(net, sample(x, s));
        const std::vector<Mat> delta = backprop_deltas(net, f, sample(y, s), cost);
        for (std::size_t l = 1; l <= net.size(); ++l) {
            g.w[l - 1] += outer(delta[l], f.a[l - 1]);
            g.b[l - 1] += delta[l];
        }
    }
    return g;
}

/// C as a function of layer l's pre-activation s^(l) (1-based), the rest of the net fixed.
inline double cost_from_preactivation(const RefNet& net, std::size_t l, const Mat& s_l, const Mat& y, Cost cost) {
    Mat a = activate(net[l - 1].act, s_l);
    for (std::size_t k = l; k < net.size(); ++k) a = activate(net[k].act, mat_vec(net[k].w, a) + net[k].b);
    return cost_value(cost, a, y);
}

/// C summed over a batch (rows of x and y).
inline double batch_cost(const RefNet& net, const Mat& x, const Mat& y, Cost cost) {
    double c = 0;
    for (std::size_t b = 0; b < x.shape(0); ++b)
        c += cost_value(cost, ref_forward(net, sample(x, b)).a.back(), sample(y, b));
    return c;
}

/// dC/dW^(l) (1-based) by central differences of the batch cost.
inline Mat weight_differences(const RefNet& net, std::size_t l, const Mat& x, const Mat& y, Cost cost) {
    return central_differences(
        [&](const Mat& w) {
            RefNet perturbed = net;
            perturbed[l - 1].w = w;
            return batch_cost(perturbed, x, y, cost);
        },
        net[l - 1].w);
}

/// The same network on the tape, built from nn::Dense layers.
template <class T>
struct TapeNet {
    std::vector<std::shared_ptr<tg::nn::Dense<T>>> layers;
    std::vector<Act> acts;
    std::vector<tg::Tensor<T>> s;  // the last forward's pre-activations, gradients retained

    /// sizes N^(0), ..., N^(L); acts[l-1] is layer l's activation.
    TapeNet(const std::vector<std::size_t>& sizes, std::vector<Act> activations, tg::Generator& gen)
        : acts(std::move(activations)) {
        for (std::size_t l = 1; l < sizes.size(); ++l)
            layers.push_back(std::make_shared<tg::nn::Dense<T>>(sizes[l - 1], sizes[l], gen));
    }

    tg::Tensor<T> forward(const tg::Tensor<T>& x) {
        s.clear();
        tg::Tensor<T> a = x;
        for (std::size_t l = 0; l < layers.size(); ++l) {
            s.push_back(layers[l]->forward(a));
            s.back().retain_grad();
            a = acts[l] == Act::Softmax   ? tg::softmax(s.back())
                : acts[l] == Act::Sigmoid ? tg::sigmoid(s.back())
                                          : tg::tanh(s.back());
        }
        return a;
    }

    /// The cost summed over the batch: -sum y ln a (002 eq 2) or 1/2 sum (y - a)^2 (001).
    static tg::Tensor<T> cost(Cost c, const tg::Tensor<T>& a, const tg::Tensor<T>& y) {
        return c == Cost::CrossEntropy ? -tg::sum(y * tg::log(a)) : tg::half_sum_squares(a, y, tg::Reduction::Sum);
    }

    std::vector<tg::Tensor<T>> parameters() const {
        std::vector<tg::Tensor<T>> p;
        for (const auto& layer : layers) {
            p.push_back(layer->weight());
            p.push_back(layer->bias());
        }
        return p;
    }

    void zero_grad() {
        for (auto& layer : layers) layer->zero_grad();
    }

    RefNet reference() const {
        RefNet net;
        for (std::size_t l = 0; l < layers.size(); ++l)
            net.push_back({values(layers[l]->weight()), values(layers[l]->bias()), acts[l]});
        return net;
    }
};

/// Targets: a probability vector per row for cross-entropy, values in (0, 1) for half squares.
template <class T>
tg::Tensor<T> random_targets(tg::Generator& gen, std::size_t batch, std::size_t n) {
    xt::xarray<T> y = uniform_const<T>({batch, n}, gen, 0.05, 1).value();
    for (std::size_t b = 0; b < batch; ++b) {
        T row = 0;
        for (std::size_t i = 0; i < n; ++i) row += y(b, i);
        for (std::size_t i = 0; i < n; ++i) y(b, i) /= row;
    }
    return tg::Tensor<T>(y);
}

}  // namespace formulas
