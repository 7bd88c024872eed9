// What the two loss table files (rows_loss.cpp, rows_loss_class.cpp) share: reductions written
// out for the references, and the rows' names and README lines per reduction.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable::loss {

using tg::Reduction;

/// The terms reduced as a loss does: the terms themselves (None), their sum, or the sum divided
/// by `denominator` (Mean; the caller passes what the loss divides by).
inline Array reduce_by(Reduction r, const Array& terms, double denominator) {
    if (r == Reduction::None) return terms;
    double total = 0;
    for (double v : terms) total += v;
    return Array(r == Reduction::Sum ? total : total / denominator);
}

inline const char* suffix(Reduction r) {
    switch (r) {
        case Reduction::Mean:
            return "mean";
        case Reduction::Sum:
            return "sum";
        case Reduction::None:
            return "none";
        case Reduction::BatchMean:
            return "batchmean";
    }
    return "?";
}

/// README.md shows each loss once: its Reduction::Mean row carries the line.
inline ReadmeLine mean_only(Reduction r, ReadmeLine line) {
    return r == Reduction::Mean ? line : ReadmeLine{};
}

/// "shapes differ" for a loss whose two inputs must have one shape.
inline ErrorCase mismatch(const std::string& name, std::function<void(const Inputs64&)> call) {
    return {"shapes differ", {{2, 3}, {3, 2}}, std::move(call), Expect::Shape, {name, "[2, 3]", "[3, 2]"}};
}

/// "Reduction::BatchMean" refused by every loss but kl_div, for a loss called on two [2, 3] inputs.
inline ErrorCase batchmean_refused(const std::string& name, std::function<void(const Inputs64&)> call) {
    return {"Reduction::BatchMean", {{2, 3}, {2, 3}}, std::move(call), Expect::Value, {name, "BatchMean", "kl_div"}};
}

/// The float or double Tensor type of a generic row lambda's inputs.
template <class Inputs>
using TensorOf = std::decay_t<decltype(std::declval<const Inputs&>()[0])>;

}  // namespace optable::loss
