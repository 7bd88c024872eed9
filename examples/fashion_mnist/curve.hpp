// The training curve: a CSV row per epoch, and a PNG plot of it when gnuplot is installed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>

namespace fashion {

struct EpochStats {
    std::size_t epoch = 0;
    double train_loss = 0;
    double test_loss = 0;
    double test_accuracy = 0;  // in [0, 1]
    double seconds = 0;        // training and evaluation of this epoch
};

/// Writes curve.csv with the header "epoch,train_loss,test_loss,test_accuracy,seconds", one row per
/// epoch, flushed as it goes (so an interrupted run keeps its curve).
class CurveWriter {
public:
    /// Starts the file with `text()` of an earlier writer (a resumed run), or the header alone.
    explicit CurveWriter(const std::filesystem::path& csv, const std::string& text = "");
    void add(const EpochStats& stats);
    /// Everything written so far, header included (what a checkpoint keeps).
    const std::string& text() const noexcept { return text_; }

private:
    std::ofstream file_;
    std::string text_;
};

/// Plots the CSV into `png` (losses and test accuracy against the epoch) if `gnuplot` is on PATH;
/// returns whether a plot was made. Without gnuplot, does nothing.
bool plot_curve(const std::filesystem::path& csv, const std::filesystem::path& png);

}  // namespace fashion
