/// \file
/// Stochastic gradient descent with momentum, dampening, Nesterov, L2 weight decay and maximize
/// (torch.optim.SGD).
#pragma once

#include <initializer_list>
#include <limits>
#include <optional>

#include <tapegrad/nn/optimizer.hpp>

namespace tapegrad::optim {

/// Defaults are PyTorch's. lr has no default: leaving it unset (in the options and in a group)
/// throws ValueError. Use designated initializers:
/// `SGD<float> opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});`
struct SGDOptions {
    double lr = std::numeric_limits<double>::quiet_NaN();  ///< required, >= 0
    double momentum = 0;                                   ///< >= 0
    /// Finite; the gradient enters the momentum buffer scaled by (1 - dampening).
    double dampening = 0;
    double weight_decay = 0;  ///< >= 0; L2: weight_decay * param is added to the gradient
    bool nesterov = false;    ///< needs momentum > 0 and dampening == 0
    bool maximize = false;    ///< ascend: the gradient's sign is flipped first
};

/// One parameter group of an SGD: its parameters and the options it sets (unset ones fall back to
/// the optimiser's defaults), as a torch.optim param group dict:
/// `SGD<float> opt({{.params = body}, {.params = head, .lr = 0.01}}, {.lr = 0.1, .momentum = 0.9});`
template <class T = float>
struct SGDGroup {
    std::vector<Tensor<T>> params = {};                 ///< the group's parameters
    std::optional<double> lr = std::nullopt;            ///< overrides SGDOptions::lr
    std::optional<double> momentum = std::nullopt;      ///< overrides SGDOptions::momentum
    std::optional<double> dampening = std::nullopt;     ///< overrides SGDOptions::dampening
    std::optional<double> weight_decay = std::nullopt;  ///< overrides SGDOptions::weight_decay
    std::optional<bool> nesterov = std::nullopt;        ///< overrides SGDOptions::nesterov
    std::optional<bool> maximize = std::nullopt;        ///< overrides SGDOptions::maximize
    /// The group's options: each override, else the default.
    SGDOptions resolve(const SGDOptions& d) const {
        return {lr.value_or(d.lr),
                momentum.value_or(d.momentum),
                dampening.value_or(d.dampening),
                weight_decay.value_or(d.weight_decay),
                nesterov.value_or(d.nesterov),
                maximize.value_or(d.maximize)};
    }
};

/// SGD (torch.optim.SGD). For each parameter p with gradient g, with its group's options
/// (PyTorch's equations):
/// ```
///   g = -g  (maximize)
///   g = g + weight_decay p
///   if momentum != 0:  b = g on the first step, else b = momentum b + (1 - dampening) g
///                      g = g + momentum b  (nesterov)  or  g = b
///   p = p - lr g
/// ```
/// State: `momentum_buffer.<i>` (see Optimizer). Momentum is what OneCycleLR cycles.
template <class T = float>
class SGD : public GroupedOptimizer<T, SGDOptions> {
public:
    /// Optimises `params` (e.g. model.parameters()) as one group. ValueError when lr is unset or an
    /// option breaks its rule (see SGDOptions), or for a bad parameter list (see Optimizer).
    SGD(std::vector<Tensor<T>> params, SGDOptions options);
    /// Optimises parameter groups, each with its own options falling back to `defaults`.
    /// ValueError, naming the group, when a group's lr is unset or an option breaks its rule, or for
    /// an empty group or a parameter in two groups (see Optimizer).
    SGD(const std::vector<SGDGroup<T>>& groups, SGDOptions defaults);
    /// The same, from a braced list of groups: `{{.params = a}, {.params = b, .lr = 0.01}}` (chosen over
    /// the one-list constructor, which a group of one tensor would otherwise also match).
    SGD(std::initializer_list<SGDGroup<T>> groups, SGDOptions defaults)
        : SGD(std::vector<SGDGroup<T>>(groups), defaults) {}

    std::string name() const override { return "SGD"; }

protected:
    /// One fused loop over parameter i by the equations above.
    void update(std::size_t i) override;
    /// The momentum buffer is optional: PyTorch starts a missing one at the next gradient.
    typename Optimizer<T>::Need need(std::size_t, std::size_t) const override { return Optimizer<T>::Need::Allowed; }
};

}  // namespace tapegrad::optim
