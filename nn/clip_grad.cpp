#include <tapegrad/nn/clip_grad.hpp>

#include <algorithm>
#include <cmath>

namespace tapegrad::nn {

namespace {

void check_norm_type(const char* function, double norm_type) {
    if (!(norm_type > 0)) fail<ValueError>("{}: norm_type is {}; it must be > 0 (or inf)", function, norm_type);
}

/// Calls f(g) for every gradient element of every parameter that has a gradient.
template <class T, class F>
void each_grad(const std::vector<Tensor<T>>& params, F f) {
    for (const auto& p : params) {
        if (!p.defined() || !p.grad().defined()) continue;
        for (T g : p.grad().value()) f(static_cast<double>(g));
    }
}

template <class T>
double norm(const std::vector<Tensor<T>>& params, double norm_type) {
    // The largest |g| first: the norm is largest (sum (|g| / largest)^p)^(1/p), where every term is
    // at most 1, so no power overflows (a float32 gradient's squares would, for p = 2, near 1e19).
    double largest = 0;
    bool nan = false;
    each_grad(params, [&](double g) {
        nan = nan || std::isnan(g);
        largest = std::max(largest, std::abs(g));
    });
    if (nan) return std::numeric_limits<double>::quiet_NaN();
    if (std::isinf(norm_type) || largest == 0 || std::isinf(largest)) return largest;
    double sum = 0;
    if (norm_type == 2) {
        each_grad(params, [&](double g) { sum += (g / largest) * (g / largest); });
        return largest * std::sqrt(sum);
    }
    each_grad(params, [&](double g) { sum += std::pow(std::abs(g) / largest, norm_type); });
    return largest * std::pow(sum, 1 / norm_type);
}

}  // namespace

template <class T>
double grad_norm(const std::vector<Tensor<T>>& params, double norm_type) {
    check_norm_type("grad_norm", norm_type);
    return norm(params, norm_type);
}

template <class T>
double clip_grad_norm_(const std::vector<Tensor<T>>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
    if (!(max_norm >= 0)) fail<ValueError>("clip_grad_norm_: max_norm is {}; it must be >= 0", max_norm);
    check_norm_type("clip_grad_norm_", norm_type);
    const double total = norm(params, norm_type);
    if (error_if_nonfinite && !std::isfinite(total))
        fail<ValueError>(
            "clip_grad_norm_: the total norm of order {} of the gradients is {}, so it cannot be clipped (with "
            "error_if_nonfinite false the gradients are scaled by the non-finite norm anyway)",
            norm_type, total);
    const double coef = max_norm / (total + 1e-6);  // 1e-6 as PyTorch, so a zero norm is safe
    if (coef >= 1) return total;                    // PyTorch multiplies by the coef clamped to 1: no change
    for (auto p : params) {
        if (!p.defined() || !p.grad().defined()) continue;
        for (T& g : p.mutable_grad().mutable_value()) g *= static_cast<T>(coef);
    }
    return total;
}

template <class T>
void clip_grad_value_(const std::vector<Tensor<T>>& params, double clip_value) {
    if (!(clip_value >= 0)) fail<ValueError>("clip_grad_value_: clip_value is {}; it must be >= 0", clip_value);
    const auto high = static_cast<T>(clip_value);  // an infinite clip_value clamps nothing
    for (auto p : params) {
        if (!p.defined() || !p.grad().defined()) continue;
        // Comparisons with NaN are false: a NaN element stays NaN, as torch.clamp leaves it.
        for (T& g : p.mutable_grad().mutable_value()) g = g < -high ? -high : (g > high ? high : g);
    }
}

#define TAPEGRAD_INSTANTIATE(T)                                                           \
    template double grad_norm(const std::vector<Tensor<T>>&, double);                     \
    template double clip_grad_norm_(const std::vector<Tensor<T>>&, double, double, bool); \
    template void clip_grad_value_(const std::vector<Tensor<T>>&, double);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::nn
