#include "curve.hpp"

#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include <tapegrad/autograd/errors.hpp>

namespace examples {
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

CurveWriter::CurveWriter(const std::filesystem::path& csv, const std::string& header, const std::string& text)
    : file_(csv), text_(text.empty() ? header + "\n" : text) {
    if (!(file_ << text_ << std::flush)) tapegrad::fail<tapegrad::IoError>("cannot write '{}'", csv.string());
}

void CurveWriter::add(const std::string& row) {
    file_ << row << '\n' << std::flush;
    text_ += row + '\n';
}

bool plot_curve(const std::filesystem::path& csv, const std::filesystem::path& png, const std::string& plot) {
    if (!on_path("gnuplot") || csv.string().find('\'') != std::string::npos ||
        png.string().find('\'') != std::string::npos)
        return false;
    const std::filesystem::path script = png.parent_path() / (png.stem().string() + ".gnuplot");
    std::ofstream(script) << "set terminal pngcairo size 900,500\nset output " << quoted(png)
                          << "\nset datafile separator ','\nset key autotitle columnhead\nset grid\n"
                          << fmt::format(fmt::runtime(plot), fmt::arg("csv", quoted(csv)));
    return std::system(fmt::format("gnuplot {} >/dev/null 2>&1", quoted(script)).c_str()) == 0;
}

}  // namespace examples
