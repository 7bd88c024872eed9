// Adam (torch.optim.Adam, L2 weight decay) and AdamW (torch.optim.AdamW, decoupled weight decay).
#pragma once

#include <cstdint>
#include <optional>

#include <xtensor/xarray.hpp>

#include <tapegrad/nn/optimizer.hpp>

namespace tapegrad::optim {

/// Defaults are PyTorch's: `Adam<float> opt(model.parameters(), {.lr = 3e-4});`
struct AdamOptions {
    double lr = 1e-3;         // >= 0
    double beta1 = 0.9;       // in [0, 1)
    double beta2 = 0.999;     // in [0, 1)
    double eps = 1e-8;        // >= 0
    double weight_decay = 0;  // >= 0; L2: added to the gradient (as torch.optim.Adam)
};

/// Same fields; weight decay is decoupled and on by default (1e-2), as torch.optim.AdamW.
struct AdamWOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 1e-2;
};

/// The shared Adam machinery; `decoupled` selects AdamW's weight decay. For parameter p with
/// gradient g at its step t = 1, 2, ... (PyTorch's equations):
///   Adam:  g = g + weight_decay p            AdamW:  p = p (1 - lr weight_decay)
///   m = beta1 m + (1 - beta1) g              (m, v start at 0)
///   v = beta2 v + (1 - beta2) g^2
///   p = p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// State: "step.<i>", "exp_avg.<i>" (m), "exp_avg_sq.<i>" (v) (see Optimizer).
template <class T>
class AdamBase : public Optimizer<T> {
public:
    void step() override;
    typename Optimizer<T>::State state() const override;
    void load_state(const typename Optimizer<T>::State& state) override;

protected:
    AdamBase(std::vector<Tensor<T>> params, const AdamOptions& options, bool decoupled, const char* name);

    AdamOptions options_;  // lr here is the initial one; lr() is current

private:
    struct Moments {
        std::int64_t step = 0;
        xt::xarray<T> exp_avg;
        xt::xarray<T> exp_avg_sq;
    };
    bool decoupled_;
    std::vector<std::optional<Moments>> moments_;  // one per parameter, made on first use

    void update(Tensor<T>& param, std::optional<Moments>& slot);
};

template <class T = float>
class Adam : public AdamBase<T> {
public:
    Adam(std::vector<Tensor<T>> params, AdamOptions options = {});
    std::string name() const override { return "Adam"; }
    /// The options, with lr the current learning rate.
    AdamOptions options() const;
};

template <class T = float>
class AdamW : public AdamBase<T> {
public:
    AdamW(std::vector<Tensor<T>> params, AdamWOptions options = {});
    std::string name() const override { return "AdamW"; }
    /// The options, with lr the current learning rate.
    AdamWOptions options() const;
};

}  // namespace tapegrad::optim
