/// \file
/// Adagrad (torch.optim.Adagrad): with lr decay, L2 weight decay, an initial accumulator and maximize.
#pragma once

#include <initializer_list>
#include <optional>

#include <tapegrad/nn/optimizer.hpp>

namespace tapegrad::optim {

/// Defaults are PyTorch's: `Adagrad<float> opt(model.parameters(), {.lr = 0.1, .lr_decay = 1e-4});`
struct AdagradOptions {
    double lr = 1e-2;                      ///< learning rate, >= 0
    double lr_decay = 0;                   ///< >= 0; step t uses lr / (1 + (t - 1) lr_decay)
    double weight_decay = 0;               ///< >= 0; L2: weight_decay * param is added to the gradient
    double initial_accumulator_value = 0;  ///< >= 0; where the sum of squared gradients starts
    double eps = 1e-10;                    ///< added to the denominator (outside the square root), >= 0
    bool maximize = false;                 ///< ascend: the gradient's sign is flipped first
};

/// One parameter group of an Adagrad: its parameters and the options it sets (unset ones fall
/// back to the optimiser's defaults), as a torch.optim param group dict.
template <class T = float>
struct AdagradGroup {
    std::vector<Tensor<T>> params = {};                 ///< the group's parameters
    std::optional<double> lr = std::nullopt;            ///< overrides AdagradOptions::lr
    std::optional<double> lr_decay = std::nullopt;      ///< overrides AdagradOptions::lr_decay
    std::optional<double> weight_decay = std::nullopt;  ///< overrides AdagradOptions::weight_decay
    std::optional<double> initial_accumulator_value =
        std::nullopt;                             ///< overrides AdagradOptions::initial_accumulator_value
    std::optional<double> eps = std::nullopt;     ///< overrides AdagradOptions::eps
    std::optional<bool> maximize = std::nullopt;  ///< overrides AdagradOptions::maximize
    /// The group's options: each override, else the default.
    AdagradOptions resolve(const AdagradOptions& d) const {
        return {lr.value_or(d.lr),
                lr_decay.value_or(d.lr_decay),
                weight_decay.value_or(d.weight_decay),
                initial_accumulator_value.value_or(d.initial_accumulator_value),
                eps.value_or(d.eps),
                maximize.value_or(d.maximize)};
    }
};

/// Adagrad (torch.optim.Adagrad). For parameter p with gradient g at its step t = 1, 2, ..., with
/// its group's options (PyTorch 2.x's equations; s starts at initial_accumulator_value):
/// ```
///   g = -g  (maximize)
///   g = g + weight_decay p
///   s = s + g^2
///   p = p - (lr / (1 + (t - 1) lr_decay)) g / (sqrt(s) + eps)
/// ```
/// State: `step.<i>`, `sum.<i>` (s) (see Optimizer); load_state() requires both together. Unlike
/// PyTorch, which makes the state of every parameter when the optimiser is built, a parameter's
/// state is made on its first update (the same numbers: nothing reads it before). There is no
/// momentum: OneCycleLR needs cycle_momentum = false.
template <class T = float>
class Adagrad : public GroupedOptimizer<T, AdagradOptions> {
public:
    /// Optimises `params` (e.g. model.parameters()) as one group. ValueError for an option outside
    /// its range or a bad parameter list (see Optimizer).
    Adagrad(std::vector<Tensor<T>> params, AdagradOptions options = {});
    /// Optimises parameter groups, each with its own options falling back to `defaults`.
    /// ValueError, naming the group, for an option outside its range, an empty group or a parameter
    /// in two groups (see Optimizer).
    Adagrad(const std::vector<AdagradGroup<T>>& groups, AdagradOptions defaults = {});
    /// The same, from a braced list of groups: `{{.params = a}, {.params = b, .lr = 0.01}}` (chosen over
    /// the one-list constructor, which a group of one tensor would otherwise also match).
    Adagrad(std::initializer_list<AdagradGroup<T>> groups, AdagradOptions defaults = {})
        : Adagrad(std::vector<AdagradGroup<T>>(groups), defaults) {}
    std::string name() const override { return "Adagrad"; }

protected:
    /// One fused loop over parameter i by the equations above.
    void update(std::size_t i) override;
    /// sum is required.
    typename Optimizer<T>::Need need(std::size_t, std::size_t) const override { return Optimizer<T>::Need::Required; }
};

}  // namespace tapegrad::optim
