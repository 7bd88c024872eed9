// A training curve: a CSV file written row by row (flushed, so an interrupted run keeps it), and a
// PNG plot of it when gnuplot is installed. Shared by the examples.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace examples {

/// Writes a CSV: its header line, then one row per add(), each flushed as it is written.
class CurveWriter {
public:
    /// Starts `csv` with `text` (what an earlier writer wrote: a resumed run), or with `header` alone.
    /// Throws IoError when the file cannot be written.
    CurveWriter(const std::filesystem::path& csv, const std::string& header, const std::string& text = "");
    /// Appends one line (without its newline).
    void add(const std::string& row);
    /// Everything written so far, header included (what a checkpoint keeps).
    const std::string& text() const noexcept { return text_; }

private:
    std::ofstream file_;
    std::string text_;
};

/// Plots `csv` into `png` with gnuplot if it is on PATH; returns whether a plot was made. `plot` is
/// the gnuplot script after the terminal, output and CSV settings, with `{csv}` where the CSV's
/// quoted path goes, e.g. "set xlabel 'epoch'\nplot {csv} using 1:2 with lines title 'loss'\n".
bool plot_curve(const std::filesystem::path& csv, const std::filesystem::path& png, const std::string& plot);

}  // namespace examples
