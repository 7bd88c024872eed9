/// \file
/// Anomaly mode: find the first op whose forward or backward produced a NaN or an infinity.
#pragma once

#include <cstdint>
#include <source_location>  // empty with clang < 15 on libstdc++: see SourceLocation
#include <string_view>
#include <vector>
#include <version>

#include <tapegrad/autograd/anomaly_mode.hpp>
#include <tapegrad/autograd/errors.hpp>

namespace tapegrad {

#if defined(__cpp_lib_source_location)
/// Where an op ran, as anomaly errors report it: std::source_location (with clang < 15, a struct
/// with the same interface).
using SourceLocation = std::source_location;
#else
/// std::source_location's interface from the compiler builtins, for clang < 15 (which cannot
/// compile libstdc++'s <source_location>). Default arguments are evaluated at the call site.
struct SourceLocation {
    static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                            std::uint_least32_t line = __builtin_LINE(),
                                            const char* function = __builtin_FUNCTION()) noexcept {
        SourceLocation where;
        where.file_ = file;
        where.line_ = line;
        where.function_ = function;
        return where;
    }
    constexpr const char* file_name() const noexcept { return file_; }
    constexpr std::uint_least32_t line() const noexcept { return line_; }
    constexpr std::uint_least32_t column() const noexcept { return 0; }
    constexpr const char* function_name() const noexcept { return function_; }

private:
    const char* file_ = "";
    std::uint_least32_t line_ = 0;
    const char* function_ = "";
};
#endif

/// Thrown in anomaly mode by the first op whose result holds a NaN or an infinity.
class AnomalyError : public Error {
public:
    using Error::Error;
};

/// Turns anomaly detection on (or off) for a scope, on this thread, and restores the previous
/// setting on exit (torch.autograd.detect_anomaly). While on:
///   - every op's forward result is scanned: the first that holds a NaN or an infinity throws
///     AnomalyError naming the op, its index among the ops run since detection was turned on,
///     where it ran (see anomaly_scope) and, for each input, its shape, min, max, NaN count and
///     infinity count;
///   - every backward rule's gradients are scanned the same way: the error names the op whose
///     rule produced them, where that op was recorded in the forward, and the statistics of its
///     inputs and of the gradient that flowed into it.
/// The thrown error leaves the tape consistent (nothing is recorded for the offending forward;
/// a backward is abandoned with no partial gradient left in any node).
/// C++ cannot see the caller of an op from inside it, so "where" is the innermost active
/// anomaly_scope's source location and label, or else this guard's own source location.
class DetectAnomalyGuard {
public:
    /// Turns detection on (or off, with `enabled` false) until the guard is destroyed. `where`, the
    /// guard's own source location by default, is reported for ops run outside any anomaly_scope.
    explicit DetectAnomalyGuard(bool enabled = true, SourceLocation where = SourceLocation::current());
    ~DetectAnomalyGuard();
    DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
    DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

private:
    bool previous_;
    std::size_t previous_place_;
};

/// Marks a region of the user's code (a layer, a loss) so that anomaly errors say where the op
/// ran: `auto scope = tapegrad::anomaly_scope("layer 3");`. Scopes nest; the innermost wins.
/// Does nothing (and costs one thread-local read) when anomaly mode is off at its creation.
class [[nodiscard]] AnomalyScope {
public:
    /// Labels the region `label`, at `where`; use anomaly_scope(), which fills `where` in.
    AnomalyScope(std::string_view label, SourceLocation where);
    ~AnomalyScope();
    AnomalyScope(const AnomalyScope&) = delete;
    AnomalyScope& operator=(const AnomalyScope&) = delete;

private:
    bool active_;
    std::size_t previous_place_ = 0;
};

/// An AnomalyScope labelled `label` at the caller's source location. Keep it alive for the region:
/// `auto scope = tapegrad::anomaly_scope("layer 3");` (a discarded scope ends at once).
inline AnomalyScope anomaly_scope(std::string_view label = {}, SourceLocation where = SourceLocation::current()) {
    return AnomalyScope(label, where);
}

}  // namespace tapegrad
