// The graph behind a small model's loss, as a picture: a 2-layer MLP and its cross-entropy, written
// as Graphviz DOT (leaves named by parameter) and rendered to PNG with graphviz's `dot` when it is
// installed (Debian: graphviz). docs/graph_mlp.png is its picture. Also prints the tape's summary.
//   graph_picture [out_dir]      writes out_dir/graph_mlp.dot and .png (out_dir: default ".")
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

namespace {

// A path for the shell, in single quotes (a quote inside it closed, escaped and reopened).
std::string shell_quoted(const std::filesystem::path& path) {
    std::string out = "'";
    for (char c : path.string()) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace

int main(int argc, char** argv) try {
    const std::filesystem::path dir = argc > 1 ? argv[1] : ".";
    std::filesystem::create_directories(dir);

    tg::Generator gen(0);
    auto model = nn::mlp<float>({4, 8, 3}, nn::Activation::ReLU, gen);
    auto x = tg::randn<float>({4, 4}, gen);
    const tg::Labels y = {0, 2, 1, 0};
    auto loss = tg::cross_entropy(model(x), y);
    std::cout << tg::tape_summary() << '\n';

    const auto dot_file = dir / "graph_mlp.dot";
    std::ofstream file(dot_file);
    file << nn::to_dot(loss, model, {{"x", x}});
    file.close();
    if (!file) {
        std::cerr << "graph_picture: could not write " << dot_file << '\n';
        return 1;
    }
    std::cout << "wrote " << dot_file.string() << '\n';

    if (std::system("command -v dot > /dev/null 2>&1") != 0) {
        std::cout << "graphviz's dot is not installed (Debian: apt-get install graphviz), so no PNG: render "
                  << dot_file.string() << " with `dot -Tpng` where it is\n";
        return 0;
    }
    const auto png = dir / "graph_mlp.png";
    const std::string command = "dot -Tpng " + shell_quoted(dot_file) + " -o " + shell_quoted(png);
    if (const int status = std::system(command.c_str()); status != 0) {
        std::cerr << "graph_picture: graphviz's dot failed (status " << status << ")\n";
        return 1;
    }
    std::cout << "wrote " << png.string() << '\n';
} catch (const std::exception& e) {
    std::cerr << "graph_picture: " << e.what() << '\n';
    return 1;
}
