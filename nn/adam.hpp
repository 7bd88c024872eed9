/// \file
/// Adam (torch.optim.Adam, L2 weight decay) and AdamW (torch.optim.AdamW, decoupled weight decay),
/// with amsgrad and maximize.
#pragma once

#include <initializer_list>
#include <optional>

#include <tapegrad/nn/optimizer.hpp>

namespace tapegrad::optim {

/// The options of Adam and AdamW, one struct. Defaults are PyTorch's:
/// `Adam<float> opt(model.parameters(), {.lr = 3e-4});`, `AdamW<float> opt(params, {.weight_decay = 0.05});`
struct AdamOptions {
    double lr = 1e-3;      ///< learning rate, >= 0
    double beta1 = 0.9;    ///< decay of m, the running mean of g, in [0, 1) (PyTorch's betas[0])
    double beta2 = 0.999;  ///< decay of v, the running mean of g^2, in [0, 1) (PyTorch's betas[1])
    double eps = 1e-8;     ///< added to the denominator for stability, >= 0
    /// >= 0. Adam: an L2 term added to the gradient (torch.optim.Adam); AdamW: decoupled, each step
    /// first scales p by (1 - lr weight_decay). Unset: each optimiser's PyTorch default, 0 for Adam
    /// and 1e-2 for AdamW; options() reports the value in use.
    std::optional<double> weight_decay = std::nullopt;
    bool amsgrad = false;   ///< divide by the running maximum of v instead of v (AMSGrad)
    bool maximize = false;  ///< ascend: the gradient's sign is flipped first
};

/// AdamW's options: the same struct as Adam's (its weight_decay defaults to 1e-2).
using AdamWOptions = AdamOptions;

/// One parameter group of an Adam or AdamW: its parameters and the options it sets (unset ones
/// fall back to the optimiser's defaults), as a torch.optim param group dict:
/// `Adam<float> opt({{.params = body}, {.params = head, .lr = 1e-2, .weight_decay = 0}}, {.lr = 1e-3});`
template <class T = float>
struct AdamGroup {
    std::vector<Tensor<T>> params = {};                 ///< the group's parameters
    std::optional<double> lr = std::nullopt;            ///< overrides AdamOptions::lr
    std::optional<double> beta1 = std::nullopt;         ///< overrides AdamOptions::beta1
    std::optional<double> beta2 = std::nullopt;         ///< overrides AdamOptions::beta2
    std::optional<double> eps = std::nullopt;           ///< overrides AdamOptions::eps
    std::optional<double> weight_decay = std::nullopt;  ///< overrides AdamOptions::weight_decay
    std::optional<bool> amsgrad = std::nullopt;         ///< overrides AdamOptions::amsgrad
    std::optional<bool> maximize = std::nullopt;        ///< overrides AdamOptions::maximize
    /// The group's options: each override, else the default (whose weight_decay is resolved).
    AdamOptions resolve(const AdamOptions& d) const {
        return {lr.value_or(d.lr),
                beta1.value_or(d.beta1),
                beta2.value_or(d.beta2),
                eps.value_or(d.eps),
                weight_decay ? weight_decay : d.weight_decay,
                amsgrad.value_or(d.amsgrad),
                maximize.value_or(d.maximize)};
    }
};

/// AdamW's parameter groups: the same struct as Adam's.
template <class T = float>
using AdamWGroup = AdamGroup<T>;

/// The shared Adam machinery; `decoupled` selects AdamW's weight decay. For parameter p with
/// gradient g at its step t = 1, 2, ..., with its group's options (PyTorch 2.x's equations):
/// ```
///   g = -g  (maximize)
///   Adam:  g = g + weight_decay p            AdamW:  p = p (1 - lr weight_decay)
///   m = beta1 m + (1 - beta1) g              (m, v, v_max start at 0)
///   v = beta2 v + (1 - beta2) g^2
///   v_max = max(v_max, v)  (amsgrad; the maximum of the uncorrected v)
///   p = p - (lr / (1 - beta1^t)) m / (sqrt(amsgrad ? v_max : v) / sqrt(1 - beta2^t) + eps)
/// ```
/// State: `step.<i>`, `exp_avg.<i>` (m), `exp_avg_sq.<i>` (v) and, in amsgrad groups,
/// `max_exp_avg_sq.<i>` (v_max) (see Optimizer); load_state() requires all of a parameter's entries
/// together. beta1 is what OneCycleLR cycles.
template <class T>
class AdamBase : public GroupedOptimizer<T, AdamOptions> {
protected:
    /// One fused loop over parameter i by the equations above.
    void update(std::size_t i) override;
    /// exp_avg and exp_avg_sq are required; max_exp_avg_sq in amsgrad groups only.
    typename Optimizer<T>::Need need(std::size_t k, std::size_t group) const override;

    /// Checks the options (ValueError naming `name`, the group, the option and its rule) and the
    /// parameters (see Optimizer); `decoupled` selects AdamW's weight decay.
    AdamBase(const std::vector<AdamGroup<T>>& groups, const AdamOptions& defaults, bool decoupled, const char* name);

private:
    bool decoupled_;
};

/// Adam (torch.optim.Adam), weight decay as an L2 term added to the gradient:
/// `Adam<float> opt(model.parameters(), {.lr = 3e-4});`
template <class T = float>
class Adam : public AdamBase<T> {
public:
    /// Optimises `params` (e.g. model.parameters()) as one group. ValueError for an option outside
    /// its range or a bad parameter list (see Optimizer).
    Adam(std::vector<Tensor<T>> params, AdamOptions options = {});
    /// Optimises parameter groups, each with its own options falling back to `defaults`.
    /// ValueError, naming the group, for an option outside its range, an empty group or a parameter
    /// in two groups (see Optimizer).
    Adam(const std::vector<AdamGroup<T>>& groups, AdamOptions defaults = {});
    /// The same, from a braced list of groups: `{{.params = a}, {.params = b, .lr = 0.01}}` (chosen over
    /// the one-list constructor, which a group of one tensor would otherwise also match).
    Adam(std::initializer_list<AdamGroup<T>> groups, AdamOptions defaults = {})
        : Adam(std::vector<AdamGroup<T>>(groups), defaults) {}
    std::string name() const override { return "Adam"; }
};

/// AdamW (torch.optim.AdamW): Adam with decoupled weight decay, 1e-2 by default.
template <class T = float>
class AdamW : public AdamBase<T> {
public:
    /// Optimises `params` (e.g. model.parameters()) as one group. ValueError for an option outside
    /// its range or a bad parameter list (see Optimizer).
    AdamW(std::vector<Tensor<T>> params, AdamWOptions options = {});
    /// Optimises parameter groups, each with its own options falling back to `defaults`.
    /// ValueError, naming the group, for an option outside its range, an empty group or a parameter
    /// in two groups (see Optimizer).
    AdamW(const std::vector<AdamWGroup<T>>& groups, AdamWOptions defaults = {});
    /// The same, from a braced list of groups: `{{.params = a}, {.params = b, .lr = 0.01}}` (chosen over
    /// the one-list constructor, which a group of one tensor would otherwise also match).
    AdamW(std::initializer_list<AdamWGroup<T>> groups, AdamWOptions defaults = {})
        : AdamW(std::vector<AdamWGroup<T>>(groups), defaults) {}
    std::string name() const override { return "AdamW"; }
};

}  // namespace tapegrad::optim
