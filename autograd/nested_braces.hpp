/// \file
/// Arrays from nested braces, refusing ragged lists (internal: Tensor's and Indices' constructors).
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <vector>

#include <xtensor/xarray.hpp>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad::detail {

// The length of every list at each nesting depth (lengths[d] for depth d); a value ends a branch.
template <class T>
void row_lengths(const T&, std::vector<std::vector<std::size_t>>&, std::size_t) {}
template <class L>
void row_lengths(std::initializer_list<L> list, std::vector<std::vector<std::size_t>>& lengths, std::size_t depth) {
    if (lengths.size() <= depth) lengths.resize(depth + 1);
    lengths[depth].push_back(list.size());
    for (const auto& sub : list) row_lengths(sub, lengths, depth + 1);
}

/// xtensor sizes nested braces by their first row at each depth, so {{1, 2}, {3}} would make a
/// 2 x 2 array with an uninitialised fourth element: every row at a depth must have one length,
/// or a ShapeError names `what` (the type being built) and the lengths.
template <class T, class L>
xt::xarray<T> rectangular(const char* what, std::initializer_list<L> values) {
    std::vector<std::vector<std::size_t>> lengths;
    row_lengths(values, lengths, 0);
    for (std::size_t d = 1; d < lengths.size(); ++d) {
        const auto& at = lengths[d];
        if (std::adjacent_find(at.begin(), at.end(), std::not_equal_to<>()) != at.end()) {
            fail<ShapeError>(
                "{}: ragged nested braces: the lists at depth {} have lengths [{}]; every list at one depth must "
                "have the same length",
                what, d, fmt::join(at, ", "));
        }
    }
    return xt::xarray<T>(values);
}

}  // namespace tapegrad::detail
