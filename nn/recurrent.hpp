/// \file
/// Recurrent layers over sequences: RNN, LSTM and GRU (torch::nn::RNN / LSTM / GRU), stacked and
/// optionally bidirectional, with PyTorch's shapes, parameter names and initialisation.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/recurrent_cell.hpp>

namespace tapegrad::nn {

/// Options of RNN, LSTM and GRU, defaults as PyTorch's.
struct RecurrentOptions {
    std::size_t num_layers = 1;  ///< stacked layers; layer l > 0 reads layer l - 1's output
    bool bias = true;            ///< bias_ih_l* and bias_hh_l* parameters
    bool batch_first = false;    ///< input and output are [N, L, features] instead of [L, N, features]
    bool bidirectional = false;  ///< a second direction per layer, run from the last step back
    Nonlinearity nonlinearity = Nonlinearity::Tanh;  ///< RNN only: tanh or relu
    /// Dropout with this probability on each layer's output but the last's, in training mode only
    /// (PyTorch's `dropout`; in [0, 1]). With one layer it does nothing (PyTorch warns).
    double dropout = 0;
};

/// What a sequence module returns (PyTorch's (output, h_n) and (output, (h_n, c_n))).
template <class T = float>
struct RecurrentOutput {
    /// [L, N, D * hidden] ([N, L, D * hidden] batch_first, [L, D * hidden] unbatched), D = 2 when
    /// bidirectional: the last layer's h at each step, the reverse direction's in the second half.
    Tensor<T> output;
    /// [num_layers * D, N, hidden] ([num_layers * D, hidden] unbatched): each layer's and direction's
    /// final h (the reverse direction's after it has read step 0), ordered layer by layer.
    Tensor<T> h_n;
    /// The LSTM's final cell states, shaped as h_n; undefined for RNN and GRU.
    Tensor<T> c_n;
};

namespace detail {

/// The computation of RNN, LSTM and GRU without their checks (PyTorch's functional `_VF.lstm`):
/// seq [L, N, features], h0 and c0 [layers * directions, N, hidden] (undefined: zeros; c0 only for
/// the LSTM), `weights` layer-major ([layer * directions + direction]). Returns output
/// [L, N, directions * hidden], h_n and c_n (c_n only for the LSTM). With a `dropout_gen`, each
/// layer's output but the last goes through dropout(p = dropout) drawing from it.
///
/// Per layer and direction the input projection of every step is one GEMM (linear over
/// [L * N, features], as cuDNN and PyTorch's CPU path do); each step then does only the hidden GEMM
/// and the gate arithmetic (cell_step); the outputs are stacked once per layer. The backward pass
/// goes through the engine's iterative tape walk, so sequences of any length differentiate without
/// recursion.
template <class T>
RecurrentOutput<T> run_layers(CellKind kind, std::size_t directions, const std::vector<CellWeights<T>>& weights,
                              const Tensor<T>& seq, const Tensor<T>& h0, const Tensor<T>& c0, double dropout = 0,
                              Generator* dropout_gen = nullptr);

/// What RNN, LSTM and GRU share: parameters weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k},
/// bias_hh_l{k} (then the same with suffix _reverse when bidirectional), registered layer by layer
/// in that order and drawn from U(-1/sqrt(hidden), 1/sqrt(hidden)) as PyTorch's
/// RNNBase.reset_parameters; the checks and layouts around run_layers.
template <class T>
class RecurrentBase : public Module<T> {
public:
    /// Features of each input step.
    std::size_t input_size() const noexcept { return input_; }
    /// Features of the hidden state.
    std::size_t hidden_size() const noexcept { return hidden_; }
    /// The options the module was built with.
    const RecurrentOptions& options() const noexcept { return options_; }
    /// "10, 20", then ", num_layers=2", ", bias=False", ", batch_first=True", ", bidirectional=True"
    /// where they differ from the defaults (PyTorch's RNNBase.extra_repr).
    std::string extra_repr() const override;
    /// The stream of the inter-layer dropout masks, seeded at construction from the Generator given
    /// (one spawn() after the parameters' draws, only when options.dropout > 0); not saved state.
    Generator& generator() noexcept { return dropout_gen_; }
    /// Redraws every parameter from U(-1/sqrt(hidden), 1/sqrt(hidden)), in registration order.
    void reset_parameters(Generator& gen);
    /// The parameters of layer `layer`, direction 0 (forward) or 1 (reverse).
    const CellWeights<T>& weights(std::size_t layer, std::size_t direction = 0) const;

protected:
    /// Registers the parameters and draws them; ValueError for a zero size or num_layers, or a
    /// dropout outside [0, 1].
    RecurrentBase(CellKind kind, std::size_t input_size, std::size_t hidden_size, Generator& gen,
                  const RecurrentOptions& options);
    /// The whole forward: shape checks (ShapeError naming the module and the shapes), batch_first and
    /// unbatched layouts around run_layers.
    RecurrentOutput<T> run(const Tensor<T>& x, const Tensor<T>& h0, const Tensor<T>& c0);
    /// A float64 module of the same kind and configuration (for to_float64).
    template <class Twin>
    std::shared_ptr<Module<double>> twin() const {
        Generator unused(0);  // the constructor draws parameters that copy_state_to overwrites
        auto copy = std::make_shared<Twin>(input_, hidden_, unused, options_);
        copy->generator().set_state(dropout_gen_.state());
        return this->copy_state_to(std::move(copy));
    }

private:
    CellKind kind_;
    std::size_t input_;
    std::size_t hidden_;
    RecurrentOptions options_;
    std::vector<CellWeights<T>> weights_;  // layer-major: [layer * directions + direction]
    Generator dropout_gen_;

    std::size_t directions() const noexcept { return options_.bidirectional ? 2 : 1; }
    void check_input(const Tensor<T>& x) const;
    void check_state(const char* which, const Tensor<T>& s, const Shape& expected, const Tensor<T>& x) const;
};

}  // namespace detail

/// A stacked Elman RNN over a sequence (torch::nn::RNN): h_t = act(x_t W_ih^T + b_ih + h_{t-1}
/// W_hh^T + b_hh), act = tanh or relu (options.nonlinearity).
template <class T = float>
class RNN : public detail::RecurrentBase<T> {
public:
    /// input_size and hidden_size > 0 and num_layers > 0, else ValueError.
    RNN(std::size_t input_size, std::size_t hidden_size, Generator& gen, const RecurrentOptions& options = {});
    /// Runs x ([L, N, input_size], [N, L, input_size] batch_first, [L, input_size] unbatched) from h0
    /// ([num_layers * D, N, hidden] or unbatched [num_layers * D, hidden]; undefined: zeros). Returns
    /// output and h_n (RecurrentOutput). ShapeError naming the module and the shapes otherwise.
    RecurrentOutput<T> forward(const Tensor<T>& x, const Tensor<T>& h0) { return this->run(x, h0, {}); }
    /// The output sequence alone, from zero states: makes RNN usable in a Sequential.
    Tensor<T> forward(const Tensor<T>& x) override { return this->run(x, {}, {}).output; }
    std::string name() const override { return "RNN"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override { return this->template twin<RNN<double>>(); }
};

/// A stacked LSTM over a sequence (torch::nn::LSTM), each step as LSTMCell (gates i, f, g, o).
template <class T = float>
class LSTM : public detail::RecurrentBase<T> {
public:
    /// input_size and hidden_size > 0 and num_layers > 0, else ValueError.
    LSTM(std::size_t input_size, std::size_t hidden_size, Generator& gen, const RecurrentOptions& options = {});
    /// Runs x ([L, N, input_size], [N, L, input_size] batch_first, [L, input_size] unbatched) from h0
    /// and c0 (each [num_layers * D, N, hidden] or unbatched [num_layers * D, hidden]; undefined:
    /// zeros). Returns output, h_n and c_n. ShapeError naming the module and the shapes otherwise.
    RecurrentOutput<T> forward(const Tensor<T>& x, const Tensor<T>& h0, const Tensor<T>& c0 = {}) {
        return this->run(x, h0, c0);
    }
    /// The output sequence alone, from zero states: makes LSTM usable in a Sequential.
    Tensor<T> forward(const Tensor<T>& x) override { return this->run(x, {}, {}).output; }
    std::string name() const override { return "LSTM"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override { return this->template twin<LSTM<double>>(); }
};

/// A stacked GRU over a sequence (torch::nn::GRU), each step as GRUCell (gates r, z, n).
template <class T = float>
class GRU : public detail::RecurrentBase<T> {
public:
    /// input_size and hidden_size > 0 and num_layers > 0, else ValueError.
    GRU(std::size_t input_size, std::size_t hidden_size, Generator& gen, const RecurrentOptions& options = {});
    /// As RNN::forward(x, h0).
    RecurrentOutput<T> forward(const Tensor<T>& x, const Tensor<T>& h0) { return this->run(x, h0, {}); }
    /// The output sequence alone, from zero states: makes GRU usable in a Sequential.
    Tensor<T> forward(const Tensor<T>& x) override { return this->run(x, {}, {}).output; }
    std::string name() const override { return "GRU"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override { return this->template twin<GRU<double>>(); }
};

}  // namespace tapegrad::nn
