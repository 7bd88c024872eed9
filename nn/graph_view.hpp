/// \file
/// to_dot() for a model: the graph's leaves named by the module's parameter and buffer names.
#pragma once

#include <string>
#include <vector>

#include <tapegrad/autograd/graph_view.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// tapegrad::to_dot(outputs, names) with every parameter and buffer of `module` named by its
/// state_dict key ("0.weight", "bn.running_mean"), as torchviz's make_dot(y, params=dict(model.named_parameters())).
/// `names` names other tensors (the input, say) and comes first: a tensor named there keeps that name.
/// Throws what tapegrad::to_dot() throws (ValueError for no outputs, an undefined output or named
/// tensor, an empty name).
template <class T>
std::string to_dot(const std::vector<Tensor<T>>& outputs, const Module<T>& module, const NamedTensors<T>& names = {});

/// The same for one output: `nn::to_dot(loss, model)`.
template <class T>
std::string to_dot(const Tensor<T>& output, const Module<T>& module, const NamedTensors<T>& names = {});

}  // namespace tapegrad::nn
