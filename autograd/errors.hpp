// Typed exceptions and the argument checks every op runs before touching xtensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tapegrad {

using Shape = std::vector<std::size_t>;

/// Base of every exception tapegrad throws; catch this to catch them all.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Arguments whose shapes do not fit the op (e.g. matmul inner dimensions).
class ShapeError : public Error {
public:
    using Error::Error;
};

/// An argument value outside what the op accepts (axis out of range, negative lr, bad index).
class ValueError : public Error {
public:
    using Error::Error;
};

/// Misuse of the autograd engine (backward twice, non-scalar without a seed, ...).
class AutogradError : public Error {
public:
    using Error::Error;
};

/// Unreadable, truncated or mismatched files (checkpoints, IDX data).
class IoError : public Error {
public:
    using Error::Error;
};

/// "[2, 3]" for a shape; "[]" for a 0-d tensor.
inline std::string shape_str(const Shape& shape) {
    return fmt::format("[{}]", fmt::join(shape, ", "));
}

/// Throws E with a message built by fmt; the single place messages are assembled.
template <class E = Error, class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw E(fmt::format(format, std::forward<Args>(args)...));
}

/// Resolves a possibly negative axis against ndim, or throws ValueError naming the op.
std::size_t normalize_axis(const char* op, std::int64_t axis, std::size_t ndim);

/// Numpy broadcast of two shapes, or a ShapeError naming the op and both shapes.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

/// True when `from` can be broadcast to `to` (numpy rules, trailing alignment).
bool broadcastable_to(const Shape& from, const Shape& to);

/// Product of the dimensions (1 for a 0-d shape). Throws ValueError for a shape too large to index:
/// a product of trailing dimensions above PTRDIFF_MAX, even when a leading zero makes it empty.
std::size_t numel(const Shape& shape);

}  // namespace tapegrad
