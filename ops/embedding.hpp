/// \file
/// The embedding lookup (torch::nn::functional::embedding): rows of a weight table picked by
/// integer ids, its backward a scatter-add of the output gradient into the rows that were used.
#pragma once

#include <cstdint>
#include <optional>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// y[i..., :] = weight[idx[i...], :] (torch::nn::functional::embedding): weight is
/// num_embeddings x embedding_dim and y has shape idx.shape + [embedding_dim] (a 0-d idx gives
/// [embedding_dim]; an empty idx an empty y). Ids repeat freely. The row `padding_idx` (negative
/// counts from the end, as PyTorch's) is looked up as it is but gets no gradient, so it stays
/// whatever it was initialised to (nn::Embedding zeroes it).
///   d/dweight[r] = sum of g[i...] over the positions with idx[i...] = r, for r != padding_idx;
///                  0 for r = padding_idx (PyTorch's rule; not the derivative of the lookup there)
///   tangent: dy = embedding(idx, dweight), 0 at the positions of padding_idx (as the gradient)
/// Written as an embedding_backward op whose own backward is the lookup with the padding
/// positions zeroed (its exact adjoint), so gradients of gradients work.
/// Throws IndexError naming embedding, the id, its position and num_embeddings for an id outside
/// 0..num_embeddings-1 (negative ids are errors, as in PyTorch); ShapeError when weight is not
/// 2-d; ValueError when padding_idx is outside -num_embeddings..num_embeddings-1. PyTorch's
/// max_norm, scale_grad_by_freq and sparse options are not offered.
template <class T>
Tensor<T> embedding(const Indices& idx, const Tensor<T>& weight,
                    std::optional<std::int64_t> padding_idx = std::nullopt);

}  // namespace tapegrad
