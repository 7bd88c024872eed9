#include "curve.hpp"

#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include <tapegrad/autograd/errors.hpp>

namespace fashion {
namespace {

bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0) return true;
    }
    return false;
}

/// Single-quoted for gnuplot and the shell alike (no quote can occur in our own paths).
std::string quoted(const std::filesystem::path& p) {
    return "'" + p.string() + "'";
}

}  // namespace

CurveWriter::CurveWriter(const std::filesystem::path& csv, const std::string& text)
    : file_(csv), text_(text.empty() ? "epoch,train_loss,test_loss,test_accuracy,seconds\n" : text) {
    if (!(file_ << text_ << std::flush)) tapegrad::fail<tapegrad::IoError>("cannot write '{}'", csv.string());
}

void CurveWriter::add(const EpochStats& s) {
    const std::string row =
        fmt::format("{},{:.6f},{:.6f},{:.6f},{:.3f}\n", s.epoch, s.train_loss, s.test_loss, s.test_accuracy, s.seconds);
    file_ << row << std::flush;
    text_ += row;
}

bool plot_curve(const std::filesystem::path& csv, const std::filesystem::path& png) {
    if (!on_path("gnuplot") || csv.string().find('\'') != std::string::npos ||
        png.string().find('\'') != std::string::npos)
        return false;
    const std::filesystem::path script = png.parent_path() / "curve.gnuplot";
    std::ofstream(script) << fmt::format(
        "set terminal pngcairo size 900,500\nset output {0}\nset datafile separator ','\n"
        "set key autotitle columnhead\nset xlabel 'epoch'\nset ylabel 'loss'\nset y2label 'test accuracy'\n"
        "set ytics nomirror\nset y2tics\nset grid\n"
        "plot {1} using 1:2 with linespoints title 'train loss', '' using 1:3 with linespoints title 'test loss', "
        "'' using 1:4 axes x1y2 with linespoints title 'test accuracy'\n",
        quoted(png), quoted(csv));
    return std::system(fmt::format("gnuplot {} >/dev/null 2>&1", quoted(script)).c_str()) == 0;
}

}  // namespace fashion
