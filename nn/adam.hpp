/// \file
/// Adam (torch.optim.Adam, L2 weight decay) and AdamW (torch.optim.AdamW, decoupled weight decay).
#pragma once

#include <cstdint>
#include <optional>

#include <xtensor/xarray.hpp>

#include <tapegrad/nn/optimizer.hpp>

namespace tapegrad::optim {

/// The options of Adam and AdamW, one struct. Defaults are PyTorch's:
/// `Adam<float> opt(model.parameters(), {.lr = 3e-4});`, `AdamW<float> opt(params, {.weight_decay = 0.05});`
struct AdamOptions {
    double lr = 1e-3;      ///< learning rate, >= 0
    double beta1 = 0.9;    ///< decay of m, the running mean of g, in [0, 1)
    double beta2 = 0.999;  ///< decay of v, the running mean of g^2, in [0, 1)
    double eps = 1e-8;     ///< added to the denominator for stability, >= 0
    /// >= 0. Adam: an L2 term added to the gradient (torch.optim.Adam); AdamW: decoupled, each step
    /// first scales p by (1 - lr weight_decay). Unset: each optimiser's PyTorch default, 0 for Adam
    /// and 1e-2 for AdamW; options() reports the value in use.
    std::optional<double> weight_decay;
};

/// AdamW's options: the same struct as Adam's (its weight_decay defaults to 1e-2).
using AdamWOptions = AdamOptions;

/// The shared Adam machinery; `decoupled` selects AdamW's weight decay. For parameter p with
/// gradient g at its step t = 1, 2, ... (PyTorch's equations):
/// ```
///   Adam:  g = g + weight_decay p            AdamW:  p = p (1 - lr weight_decay)
///   m = beta1 m + (1 - beta1) g              (m, v start at 0)
///   v = beta2 v + (1 - beta2) g^2
///   p = p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// ```
/// State: `step.<i>`, `exp_avg.<i>` (m), `exp_avg_sq.<i>` (v) (see Optimizer).
template <class T>
class AdamBase : public Optimizer<T> {
public:
    /// The options, with lr the current learning rate and weight_decay the one in use.
    AdamOptions options() const;

protected:
    /// One fused loop over parameter i by the equations above.
    void update(std::size_t i) override;
    /// Each updated parameter's step, exp_avg and exp_avg_sq.
    typename Optimizer<T>::State buffers() const override;
    /// Replaces all moments. ValueError, changing nothing, for an unknown entry, an index out of
    /// range, a buffer of another shape than its parameter, or a parameter without all three of
    /// step, exp_avg and exp_avg_sq.
    void load_buffers(const typename Optimizer<T>::State& buffers) override;

    /// Checks the options (ValueError naming `name`, the option and its rule) and the parameters
    /// (see Optimizer's constructor); `decoupled` selects AdamW's weight decay.
    AdamBase(std::vector<Tensor<T>> params, const AdamOptions& options, bool decoupled, const char* name);

    AdamOptions options_;  ///< lr here is the initial one (lr() is current); weight_decay is always set

private:
    struct Moments {
        std::int64_t step = 0;
        xt::xarray<T> exp_avg;
        xt::xarray<T> exp_avg_sq;
    };
    bool decoupled_;
    std::vector<std::optional<Moments>> moments_;  // one per parameter, made on first use
};

/// Adam (torch.optim.Adam), weight decay as an L2 term added to the gradient:
/// `Adam<float> opt(model.parameters(), {.lr = 3e-4});`
template <class T = float>
class Adam : public AdamBase<T> {
public:
    /// Optimises `params` (e.g. model.parameters()). ValueError for an option outside its range
    /// or a bad parameter list (see Optimizer).
    Adam(std::vector<Tensor<T>> params, AdamOptions options = {});
    std::string name() const override { return "Adam"; }
};

/// AdamW (torch.optim.AdamW): Adam with decoupled weight decay, 1e-2 by default.
template <class T = float>
class AdamW : public AdamBase<T> {
public:
    /// Optimises `params` (e.g. model.parameters()). ValueError for an option outside its range
    /// or a bad parameter list (see Optimizer).
    AdamW(std::vector<Tensor<T>> params, AdamWOptions options = {});
    std::string name() const override { return "AdamW"; }
};

}  // namespace tapegrad::optim
