/// \file
/// Reverse mode: the loop that walks the tape backwards from some outputs.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include <tapegrad/autograd/node.hpp>

namespace tapegrad {

/// Accumulates d(sum_i <seeds_i, roots_i>)/dleaf into every leaf's .grad() (torch::autograd::backward).
/// Seeds may be undefined for roots with one element (seeded with 1).
template <class T>
void backward(const std::vector<Tensor<T>>& roots, const std::vector<Tensor<T>>& seeds = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false);

/// Returns d(sum_i <grad_outputs_i, outputs_i>)/d inputs without touching any .grad()
/// (torch::autograd::grad). With create_graph the results carry their own graph, so they
/// can be differentiated again. An input the outputs do not depend on gets an undefined
/// tensor when allow_unused, and an error otherwise. A tensor given twice in `inputs` gets its
/// gradient in each slot. Only what leads to `inputs` is computed: ops on no path from the outputs
/// to one are not run (nor hooks on their outputs), as torch.autograd.grad does.
/// The result is Grads<T>, a std::vector with a pooled allocator (`auto g = grad(...)`).
template <class T>
Grads<T> grad(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& inputs,
              const std::vector<Tensor<T>>& grad_outputs = {}, std::optional<bool> retain_graph = std::nullopt,
              bool create_graph = false, bool allow_unused = false);

namespace detail {
/// backward() over spans: what Tensor::backward() calls without building vectors.
template <class T>
void run_backward(std::span<const Tensor<T>> roots, std::span<const Tensor<T>> seeds, std::optional<bool> retain_graph,
                  bool create_graph);
}  // namespace detail

}  // namespace tapegrad
