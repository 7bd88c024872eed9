// The main job's training curve: its CSV columns and its plot (examples/common/curve.hpp writes
// and plots them).
#pragma once

#include <cstddef>
#include <string>

#include <fmt/format.h>

namespace fashion {

struct EpochStats {
    std::size_t epoch = 0;
    double train_loss = 0;
    double test_loss = 0;
    double test_accuracy = 0;  // in [0, 1]
    double seconds = 0;        // training and evaluation of this epoch
};

/// The CSV's header line.
inline const std::string kCurveHeader = "epoch,train_loss,test_loss,test_accuracy,seconds";

/// One epoch's CSV row.
inline std::string curve_row(const EpochStats& s) {
    return fmt::format("{},{:.6f},{:.6f},{:.6f},{:.3f}", s.epoch, s.train_loss, s.test_loss, s.test_accuracy,
                       s.seconds);
}

/// Losses and test accuracy against the epoch.
inline const std::string kCurvePlot =
    "set xlabel 'epoch'\nset ylabel 'loss'\nset y2label 'test accuracy'\nset ytics nomirror\nset y2tics\n"
    "plot {csv} using 1:2 with linespoints title 'train loss', '' using 1:3 with linespoints title 'test loss', "
    "'' using 1:4 axes x1y2 with linespoints title 'test accuracy'\n";

}  // namespace fashion
