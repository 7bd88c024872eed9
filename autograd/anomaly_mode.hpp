/// \file
/// The anomaly-mode flag alone, for the hot paths that test it (record()); the guard and the
/// checks are in anomaly.hpp.
#pragma once

namespace tapegrad {

namespace detail {
// constinit: read directly, without the lazy-init wrapper a thread_local usually costs.
constinit inline thread_local bool anomaly_enabled = false;
}  // namespace detail

/// True inside a DetectAnomalyGuard (per thread). Off by default; when off, the only cost to
/// an op is this one thread-local read.
inline bool is_anomaly_enabled() noexcept {
    return detail::anomaly_enabled;
}

}  // namespace tapegrad
