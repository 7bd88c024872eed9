/// \file
/// Typed exceptions, and fail(): the one place error messages are assembled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <tapegrad/autograd/shape.hpp>

namespace tapegrad {

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

/// An argument value outside what the op accepts (dim out of range, negative lr, bad index).
class ValueError : public Error {
public:
    using Error::Error;
};

/// An index outside the size it indexes (gather, index_select, a label past the classes): names the
/// op, the index and the size. A ValueError, so code catching those catches it too.
class IndexError : public ValueError {
public:
    using ValueError::ValueError;
};

/// Misuse of the autograd engine (backward twice, non-scalar without a seed, ...).
class AutogradError : public Error {
public:
    using Error::Error;
};

/// An allocation that failed inside an op (out of memory): names the op, the shape and the bytes.
class ResourceError : public Error {
public:
    using Error::Error;
};

/// Unreadable, truncated or mismatched files (checkpoints, IDX data).
class IoError : public Error {
public:
    using Error::Error;
};

/// Throws E with a message built by fmt; the single place messages are assembled.
template <class E = Error, class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw E(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace tapegrad
