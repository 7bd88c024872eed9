/// \file
/// Recurrent cells: RNNCell, LSTMCell and GRUCell (torch::nn::RNNCell / LSTMCell / GRUCell), one
/// time step each, with PyTorch's equations, gate order, parameter names and initialisation.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// The nonlinearity of an Elman RNN (PyTorch's nonlinearity='tanh' | 'relu').
enum class Nonlinearity { Tanh, ReLU };

/// An LSTM's state: hidden h and cell c, each [N, hidden_size] (or [hidden_size] unbatched).
template <class T = float>
struct LSTMState {
    Tensor<T> h;  ///< hidden state
    Tensor<T> c;  ///< cell state
};

namespace detail {

/// Which recurrence a cell or a sequence module runs.
enum class CellKind { RNNTanh, RNNReLU, LSTM, GRU };

/// Gates stacked in weight_ih's rows: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n).
std::size_t gate_count(CellKind kind) noexcept;

/// The four parameters of one cell (or one layer and direction of a sequence module); biases are
/// undefined without bias.
template <class T>
struct CellWeights {
    Tensor<T> w_ih;  ///< [gates * hidden, input]
    Tensor<T> w_hh;  ///< [gates * hidden, hidden]
    Tensor<T> b_ih;  ///< [gates * hidden] or undefined
    Tensor<T> b_hh;  ///< [gates * hidden] or undefined
};

/// One time step from the input projection `gi` = x W_ih^T + b_ih ([N, gates * hidden], computed by
/// the caller: a sequence module does it for all steps in one GEMM) and the state (h, c), c only for
/// the LSTM. Returns (h', c'), c' undefined but for the LSTM. The equations are PyTorch's:
///   RNN:  h' = act(gi + h W_hh^T + b_hh)
///   LSTM: [i, f, g, o] = gi + h W_hh^T + b_hh; i, f, o = sigmoid(.), g = tanh(g);
///         c' = f * c + i * g; h' = o * tanh(c')
///   GRU:  [r, z] = sigmoid(gi_rz + (h W_hh^T + b_hh)_rz); n = tanh(gi_n + r * (h W_hn^T + b_hn));
///         h' = (1 - z) * n + z * h
/// Every gradient follows from the ops used (linear, chunk, sigmoid, tanh, relu, mul, add).
template <class T>
std::pair<Tensor<T>, Tensor<T>> cell_step(CellKind kind, const CellWeights<T>& w, const Tensor<T>& gi,
                                          const Tensor<T>& h, const Tensor<T>& c);

/// What RNNCell, LSTMCell and GRUCell share: the parameters (weight_ih, weight_hh, bias_ih, bias_hh,
/// registered in that order and drawn from U(-1/sqrt(hidden), 1/sqrt(hidden)) as PyTorch's
/// RNNCellBase.reset_parameters), the shape checks and the unbatched case.
template <class T>
class CellBase : public Module<T> {
public:
    /// Features of each input sample.
    std::size_t input_size() const noexcept { return input_; }
    /// Features of the hidden state.
    std::size_t hidden_size() const noexcept { return hidden_; }
    /// Whether the cell has bias_ih and bias_hh.
    bool has_bias() const noexcept { return weights_.b_ih.defined(); }
    /// The parameters.
    const CellWeights<T>& weights() const noexcept { return weights_; }
    /// "10, 20", then ", bias=False" without bias (PyTorch's RNNCellBase.extra_repr).
    std::string extra_repr() const override;
    /// Redraws every parameter from U(-1/sqrt(hidden), 1/sqrt(hidden)), in registration order.
    void reset_parameters(Generator& gen);

protected:
    /// Registers the parameters and draws them; ValueError for a zero size.
    CellBase(CellKind kind, std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias);
    /// One step for x [N, in] or [in] and states of the matching shape (zeros when undefined);
    /// ShapeError naming the cell and the shapes otherwise.
    std::pair<Tensor<T>, Tensor<T>> step(const Tensor<T>& x, const Tensor<T>& h, const Tensor<T>& c) const;
    /// The kind of recurrence.
    CellKind kind() const noexcept { return kind_; }

private:
    CellKind kind_;
    std::size_t input_;
    std::size_t hidden_;
    CellWeights<T> weights_;

    void check_state(const char* which, const Tensor<T>& s, const Tensor<T>& x) const;
};

}  // namespace detail

/// An Elman RNN cell (torch::nn::RNNCell): h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), or relu.
/// Parameters weight_ih [hidden, input], weight_hh [hidden, hidden], bias_ih, bias_hh [hidden], all
/// drawn from U(-1/sqrt(hidden), 1/sqrt(hidden)) in that order.
template <class T = float>
class RNNCell : public detail::CellBase<T> {
public:
    /// A cell from input_size to hidden_size features (both > 0, else ValueError).
    RNNCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias = true,
            Nonlinearity nonlinearity = Nonlinearity::Tanh);
    /// h' for x [N, input_size] and h [N, hidden_size], or x [input_size] and h [hidden_size]; h
    /// undefined means zeros. ShapeError naming the cell and the shapes for any other shape.
    Tensor<T> forward(const Tensor<T>& x, const Tensor<T>& h) const { return this->step(x, h, {}).first; }
    /// forward(x, zeros).
    Tensor<T> forward(const Tensor<T>& x) override { return forward(x, Tensor<T>()); }
    std::string name() const override { return "RNNCell"; }
    /// "10, 20", then ", bias=False" and ", nonlinearity=relu" where they differ from the defaults.
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;
    /// The cell's nonlinearity.
    Nonlinearity nonlinearity() const noexcept;
};

/// A long short-term memory cell (torch::nn::LSTMCell), gates in PyTorch's order i, f, g, o:
/// i, f, o = sigmoid, g = tanh of (x W_ih^T + b_ih + h W_hh^T + b_hh)'s four blocks;
/// c' = f * c + i * g; h' = o * tanh(c'). weight_ih is [4 hidden, input], weight_hh [4 hidden,
/// hidden], the biases [4 hidden]; all drawn from U(-1/sqrt(hidden), 1/sqrt(hidden)).
template <class T = float>
class LSTMCell : public detail::CellBase<T> {
public:
    /// A cell from input_size to hidden_size features (both > 0, else ValueError).
    LSTMCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias = true);
    /// (h', c') for x [N, input_size] and a state of [N, hidden_size] tensors, or unbatched x
    /// [input_size] and [hidden_size] states; an undefined h or c means zeros. ShapeError naming
    /// the cell and the shapes for any other shape.
    LSTMState<T> forward(const Tensor<T>& x, const LSTMState<T>& state = {}) const;
    std::string name() const override { return "LSTMCell"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;
};

/// A gated recurrent unit cell (torch::nn::GRUCell), gates in PyTorch's order r, z, n:
/// r, z = sigmoid of their blocks of x W_ih^T + b_ih + h W_hh^T + b_hh;
/// n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)); h' = (1 - z) * n + z * h. weight_ih is
/// [3 hidden, input], weight_hh [3 hidden, hidden], the biases [3 hidden]; all drawn from
/// U(-1/sqrt(hidden), 1/sqrt(hidden)).
template <class T = float>
class GRUCell : public detail::CellBase<T> {
public:
    /// A cell from input_size to hidden_size features (both > 0, else ValueError).
    GRUCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias = true);
    /// h' for x [N, input_size] and h [N, hidden_size], or x [input_size] and h [hidden_size]; h
    /// undefined means zeros. ShapeError naming the cell and the shapes for any other shape.
    Tensor<T> forward(const Tensor<T>& x, const Tensor<T>& h) const { return this->step(x, h, {}).first; }
    /// forward(x, zeros).
    Tensor<T> forward(const Tensor<T>& x) override { return forward(x, Tensor<T>()); }
    std::string name() const override { return "GRUCell"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;
};

}  // namespace tapegrad::nn
