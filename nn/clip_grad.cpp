#include <tapegrad/nn/clip_grad.hpp>

#include <cmath>

#include <xtensor/xnoalias.hpp>

namespace tapegrad::nn {

template <class T>
double grad_norm(const std::vector<Tensor<T>>& params) {
    double sum_sq = 0;  // accumulated in double: float32 sums over millions of elements drift
    for (const auto& p : params) {
        if (!p.defined() || !p.grad().defined()) continue;
        for (T g : p.grad().value()) sum_sq += static_cast<double>(g) * g;
    }
    return std::sqrt(sum_sq);
}

template <class T>
double clip_grad_norm(const std::vector<Tensor<T>>& params, double max_norm) {
    if (!(max_norm >= 0)) fail<ValueError>("clip_grad_norm: max_norm is {}; it must be >= 0", max_norm);
    const double total = grad_norm(params);
    if (!std::isfinite(total)) return total;
    const double coef = max_norm / (total + 1e-6);  // 1e-6 as PyTorch, so a zero norm is safe
    if (coef >= 1) return total;
    for (auto p : params) {
        if (p.defined() && p.grad().defined()) xt::noalias(p.mutable_grad().mutable_value()) *= static_cast<T>(coef);
    }
    return total;
}

template double grad_norm(const std::vector<Tensor<float>>&);
template double grad_norm(const std::vector<Tensor<double>>&);
template double clip_grad_norm(const std::vector<Tensor<float>>&, double);
template double clip_grad_norm(const std::vector<Tensor<double>>&, double);

}  // namespace tapegrad::nn
