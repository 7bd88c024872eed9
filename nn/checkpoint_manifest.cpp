#include <tapegrad/nn/checkpoint_manifest.hpp>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <tapegrad/nn/checkpoint_folder.hpp>

namespace tapegrad::nn::detail {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormat = "tapegrad checkpoint v2";
constexpr const char* kFormatV1 = "tapegrad checkpoint v1";

std::string shape_token(const Shape& shape) {
    return fmt::format("[{}]", fmt::join(shape, ","));
}

std::size_t parse_size(const std::string& where, const std::string& text) {
    // 19 digits always fit a 64-bit size: std::stoull would throw std::out_of_range beyond.
    if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
        fail<IoError>("{}: '{}' is not a size", where, text);
    return std::stoull(text);
}

Shape parse_shape(const std::string& where, const std::string& token) {
    if (token.size() < 2 || token.front() != '[' || token.back() != ']')
        fail<IoError>("{}: '{}' is not a shape", where, token);
    Shape shape;
    std::istringstream in(token.substr(1, token.size() - 2));
    for (std::string part; std::getline(in, part, ',');) {
        if (part.empty() || part.size() > 19 || part.find_first_not_of("0123456789") != std::string::npos)
            fail<IoError>("{}: '{}' is not a shape", where, token);
        shape.push_back(std::stoull(part));
    }
    return shape;
}

/// Adds one line's meaning to `m`; throws IoError when the words do not make a line we know.
void parse_line(const std::string& where, const std::string& line, Manifest& m) {
    std::istringstream in(line);
    std::vector<std::string> w;
    for (std::string word; in >> word;) w.push_back(word);
    const std::string kind = w.empty() ? "" : w[0];
    const std::size_t n = w.size();
    if (kind == "dtype" && n == 2) {
        m.dtype = w[1];
    } else if (kind == "parameter" && n == 3) {
        m.parameters.push_back({w[1], parse_shape(where, w[2])});
    } else if (kind == "buffer" && n == 3) {
        m.buffers.push_back({w[1], parse_shape(where, w[2])});
    } else if (kind == "optimizer" && n >= 2) {
        m.optimizer = w[1];
        for (std::size_t k = 2; k < n; ++k) m.lrs.push_back(parse_number(where, w[k]));
    } else if (kind == "state" && n == 3) {
        m.state.push_back({w[1], parse_shape(where, w[2])});
    } else if (kind == "schedule" && n == 2) {
        m.schedule = w[1];
    } else if (kind == "schedule_state" && n == 3) {
        m.schedule_state.emplace_back(w[1], parse_value(where, w[2]));
    } else if (kind == "schedule" && n == 4) {  // v2 before schedule_state lines
        m.schedule = w[1];
        m.schedule_state = {{"epoch", static_cast<double>(parse_size(where, w[2]))},
                            {"base_lr.0", parse_number(where, w[3])}};
    } else if (kind == "extra" && n == 3) {
        m.extras.push_back({w[1], {parse_size(where, w[2])}});
    } else {
        fail<IoError>("{}: cannot parse '{}'", where, line.substr(0, 200));
    }
}

}  // namespace

double parse_number(const std::string& where, const std::string& text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0)
        fail<IoError>("{}: '{}' is not a non-negative number", where, text);
    return value;
}

double parse_value(const std::string& where, const std::string& text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || std::isnan(value))
        fail<IoError>("{}: '{}' is not a number", where, text);
    return value;
}

void write_manifest(const fs::path& path, const Manifest& m) {
    std::ostringstream out;
    out << kFormat << "\ndtype " << m.dtype << "\n";
    for (const auto& p : m.parameters) out << "parameter " << p.name << " " << shape_token(p.shape) << "\n";
    for (const auto& b : m.buffers) out << "buffer " << b.name << " " << shape_token(b.shape) << "\n";
    // fmt's shortest form of a double reads back as the same double.
    if (!m.optimizer.empty()) out << fmt::format("optimizer {} {}\n", m.optimizer, fmt::join(m.lrs, " "));
    for (const auto& s : m.state) out << "state " << s.name << " " << shape_token(s.shape) << "\n";
    if (!m.schedule.empty()) out << "schedule " << m.schedule << "\n";
    for (const auto& [name, value] : m.schedule_state) out << fmt::format("schedule_state {} {}\n", name, value);
    for (const auto& e : m.extras) out << "extra " << e.name << " " << e.shape.at(0) << "\n";
    {
        std::ofstream file(path, std::ios::binary);
        file << out.str();
        if (!file.flush()) fail<IoError>("checkpoint: cannot write '{}'", path.string());
    }
    sync_path(path);
}

Manifest read_manifest(const std::string& dir) {
    const fs::path path = fs::path(dir) / "manifest.txt";
    std::ifstream in(path);
    if (!in) fail<IoError>("checkpoint '{}': cannot open '{}' (not a tapegrad checkpoint?)", dir, path.string());
    std::string line;
    std::getline(in, line);
    if (line != kFormat && line != kFormatV1)
        fail<IoError>("checkpoint '{}': '{}' starts with '{}', not '{}'", dir, path.string(), line.substr(0, 40),
                      kFormat);
    Manifest m;
    for (std::size_t number = 2; std::getline(in, line); ++number)
        parse_line(fmt::format("checkpoint '{}': {} line {}", dir, path.string(), number), line, m);
    return m;
}

}  // namespace tapegrad::nn::detail
