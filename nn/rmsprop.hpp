/// \file
/// RMSprop (torch.optim.RMSprop): plain or centered, with momentum, L2 weight decay and maximize.
#pragma once

#include <initializer_list>
#include <optional>

#include <tapegrad/nn/optimizer.hpp>

namespace tapegrad::optim {

/// Defaults are PyTorch's: `RMSprop<float> opt(model.parameters(), {.lr = 1e-3, .centered = true});`
struct RMSpropOptions {
    double lr = 1e-2;         ///< learning rate, >= 0
    double alpha = 0.99;      ///< decay of the running mean of g^2, >= 0 and finite
    double eps = 1e-8;        ///< added to the denominator (outside the square root), >= 0
    double weight_decay = 0;  ///< >= 0; L2: weight_decay * param is added to the gradient
    double momentum = 0;      ///< >= 0; > 0 keeps a momentum buffer
    bool centered = false;    ///< divide by an estimate of the gradient's variance instead of its second moment
    bool maximize = false;    ///< ascend: the gradient's sign is flipped first
};

/// One parameter group of an RMSprop: its parameters and the options it sets (unset ones fall
/// back to the optimiser's defaults), as a torch.optim param group dict.
template <class T = float>
struct RMSpropGroup {
    std::vector<Tensor<T>> params = {};                 ///< the group's parameters
    std::optional<double> lr = std::nullopt;            ///< overrides RMSpropOptions::lr
    std::optional<double> alpha = std::nullopt;         ///< overrides RMSpropOptions::alpha
    std::optional<double> eps = std::nullopt;           ///< overrides RMSpropOptions::eps
    std::optional<double> weight_decay = std::nullopt;  ///< overrides RMSpropOptions::weight_decay
    std::optional<double> momentum = std::nullopt;      ///< overrides RMSpropOptions::momentum
    std::optional<bool> centered = std::nullopt;        ///< overrides RMSpropOptions::centered
    std::optional<bool> maximize = std::nullopt;        ///< overrides RMSpropOptions::maximize
    /// The group's options: each override, else the default.
    RMSpropOptions resolve(const RMSpropOptions& d) const {
        return {lr.value_or(d.lr),
                alpha.value_or(d.alpha),
                eps.value_or(d.eps),
                weight_decay.value_or(d.weight_decay),
                momentum.value_or(d.momentum),
                centered.value_or(d.centered),
                maximize.value_or(d.maximize)};
    }
};

/// RMSprop (torch.optim.RMSprop). For parameter p with gradient g, with its group's options
/// (PyTorch 2.x's equations; v, a and b start at 0):
/// ```
///   g = -g  (maximize)
///   g = g + weight_decay p
///   v = alpha v + (1 - alpha) g^2
///   centered:  a = alpha a + (1 - alpha) g,   d = sqrt(v - a^2) + eps
///   else:      d = sqrt(v) + eps
///   momentum > 0:  b = momentum b + g / d,   p = p - lr b
///   else:          p = p - lr g / d
/// ```
/// State: `step.<i>`, `square_avg.<i>` (v), `momentum_buffer.<i>` (b, once momentum > 0) and, in
/// centered groups, `grad_avg.<i>` (a) (see Optimizer). Momentum is what OneCycleLR cycles.
template <class T = float>
class RMSprop : public GroupedOptimizer<T, RMSpropOptions> {
public:
    /// Optimises `params` (e.g. model.parameters()) as one group. ValueError for an option outside
    /// its range or a bad parameter list (see Optimizer).
    RMSprop(std::vector<Tensor<T>> params, RMSpropOptions options = {});
    /// Optimises parameter groups, each with its own options falling back to `defaults`.
    /// ValueError, naming the group, for an option outside its range, an empty group or a parameter
    /// in two groups (see Optimizer).
    RMSprop(const std::vector<RMSpropGroup<T>>& groups, RMSpropOptions defaults = {});
    /// The same, from a braced list of groups: `{{.params = a}, {.params = b, .lr = 0.01}}` (chosen over
    /// the one-list constructor, which a group of one tensor would otherwise also match).
    RMSprop(std::initializer_list<RMSpropGroup<T>> groups, RMSpropOptions defaults = {})
        : RMSprop(std::vector<RMSpropGroup<T>>(groups), defaults) {}
    std::string name() const override { return "RMSprop"; }

protected:
    /// One fused loop over parameter i by the equations above.
    void update(std::size_t i) override;
    /// square_avg is required, grad_avg in centered groups only; momentum_buffer is optional.
    typename Optimizer<T>::Need need(std::size_t k, std::size_t group) const override;
};

}  // namespace tapegrad::optim
