/// \file
/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD).
#pragma once

#include <limits>
#include <optional>

#include <xtensor/xarray.hpp>

#include <tapegrad/nn/optimizer.hpp>

namespace tapegrad::optim {

/// Defaults are PyTorch's. lr has no default: leaving it unset throws ValueError.
/// Use designated initializers: `SGD<float> opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});`
struct SGDOptions {
    double lr = std::numeric_limits<double>::quiet_NaN();  ///< required, >= 0
    double momentum = 0;                                   ///< >= 0
    /// Finite; the gradient enters the momentum buffer scaled by (1 - dampening).
    double dampening = 0;
    double weight_decay = 0;  ///< >= 0; L2: weight_decay * param is added to the gradient
    bool nesterov = false;    ///< needs momentum > 0 and dampening == 0
};

/// For each parameter p with gradient g (PyTorch's equations):
/// ```
///   g = g + weight_decay p
///   if momentum != 0:  b = g on the first step, else b = momentum b + (1 - dampening) g
///                      g = g + momentum b  (nesterov)  or  g = b
///   p = p - lr g
/// ```
/// State: `momentum_buffer.<i>` (see Optimizer).
template <class T = float>
class SGD : public Optimizer<T> {
public:
    /// Optimises `params` (e.g. model.parameters()). ValueError when lr is unset or an option breaks
    /// its rule (see SGDOptions), or for a bad parameter list (see Optimizer).
    SGD(std::vector<Tensor<T>> params, SGDOptions options);

    std::string name() const override { return "SGD"; }
    /// The options, with lr the current learning rate.
    SGDOptions options() const;

protected:
    /// One fused loop over parameter i by the equations above.
    void update(std::size_t i) override;
    /// Each momentum_buffer made so far.
    typename Optimizer<T>::State buffers() const override;
    /// Replaces the momentum buffers (see Optimizer::load_state).
    void load_buffers(const typename Optimizer<T>::State& buffers) override;

private:
    SGDOptions options_;
    std::vector<std::optional<xt::xarray<T>>> momentum_buffer_;  // one per parameter, made on first use
};

}  // namespace tapegrad::optim
