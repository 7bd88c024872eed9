/// \file
/// einsum: Einstein summation over one or two operands, lowered to tapegrad's own ops.
#pragma once

#include <initializer_list>
#include <string_view>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Einstein summation (torch::einsum, numpy.einsum) over one or two operands: `equation` names
/// each operand's dims with one letter each (a-z, A-Z; spaces are ignored), the terms separated by
/// ',', and the output after '->': `einsum("bij,bjk->bik", {a, b})`, `einsum("bhqd,bhkd->bhqk",
/// {q, k})`, `einsum("ij->ji", {x})`, `einsum("i,i->", {a, b})`, `einsum("ii->i", {x})`. A letter
/// repeated within one operand takes its diagonal; a letter absent from the output is summed over.
/// Without '->' the output is every letter that appears exactly once, in alphabetical order
/// (uppercase first), as numpy's. Letters of one name must have one size (no broadcasting of
/// size-1 dims). Not supported: the ellipsis '...' (name every dim) and three or more operands
/// (contract pairwise with several calls).
///
/// Lowered to differentiable ops, so gradients of gradients work: per operand, diagonal for a
/// repeated letter and sum for a letter only it has; then, for two operands, permute + reshape +
/// gemm (batch letters, kept letters of each, contracted letters; an operand already in a matrix
/// order needs no permute, gemm's transpose flags covering [.., contracted, kept]), or mul with
/// broadcasting when nothing is contracted; permute into the output's order last. The gradient of
/// each operand is therefore the einsum of the incoming gradient with the other operand:
///   d/dA = einsum(output, B -> A's letters)(grad, B)      (diagonals and sums transposed back)
///
/// Throws ValueError for a malformed equation (a character other than a letter, ',', '->' or a
/// space; an ellipsis; an output letter repeated or found in no operand; a term count that differs
/// from the number of operands, or more than two operands) and ShapeError for a term whose letter
/// count differs from its operand's dims, or one letter with two sizes (the message names the
/// letter, both sizes and the operands' shapes).
template <class T>
Tensor<T> einsum(std::string_view equation, const std::vector<Tensor<T>>& operands);

/// The same with the operands as a braced list: `einsum("ij,jk->ik", {a, b})`.
template <class T>
Tensor<T> einsum(std::string_view equation, std::initializer_list<Tensor<T>> operands) {
    return einsum(equation, std::vector<Tensor<T>>(operands));
}

}  // namespace tapegrad
