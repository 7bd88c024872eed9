// Reads back the DOT that to_dot() writes (its own subset: one statement per line), so that tests
// check the graph's structure, not its formatting. Any line it does not recognise fails the test.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

struct DotVertex {
    std::string label;  // unescaped: "mul\n[2, 3] float64\nsaved 72 B"
    std::string attrs;  // the rest: "shape=box, style=..."
};

struct DotEdge {
    std::size_t from = 0;
    std::size_t to = 0;
    std::string attrs;
};

struct Dot {
    std::string graph_label;
    std::map<std::size_t, DotVertex> vertices;
    std::vector<DotEdge> edges;

    // The ids of the vertices whose label is exactly `label`.
    std::vector<std::size_t> with_label(const std::string& label) const {
        std::vector<std::size_t> ids;
        for (const auto& [id, v] : vertices)
            if (v.label == label) ids.push_back(id);
        return ids;
    }
    // The one vertex labelled `label`; fails the test unless there is exactly one.
    std::size_t id(const std::string& label) const {
        auto ids = with_label(label);
        INFO("label: " << label);
        REQUIRE(ids.size() == 1);
        return ids[0];
    }
    const DotVertex& vertex(const std::string& label) const { return vertices.at(id(label)); }
    std::vector<DotEdge> edges_between(std::size_t from, std::size_t to) const {
        std::vector<DotEdge> found;
        for (const auto& e : edges)
            if (e.from == from && e.to == to) found.push_back(e);
        return found;
    }
};

// DOT's escapes inside a quoted string, as to_dot() uses them: \" \\ and \n (a line break).
inline std::string dot_unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            ++i;
            out += s[i] == 'n' ? '\n' : s[i];
        } else {
            out += s[i];
        }
    }
    return out;
}

inline Dot read_dot(const std::string& text) {
    static const std::string quoted = R"re("((?:[^"\\]|\\.)*)")re";
    static const std::regex vertex("  n([0-9]+) \\[label=" + quoted + ", (.*)\\];");
    static const std::regex edge("  n([0-9]+) -> n([0-9]+) \\[(.*)\\];");
    static const std::regex graph("  graph \\[.*label=" + quoted + "\\];");
    Dot dot;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    REQUIRE(line == "digraph tapegrad {");
    bool closed = false;
    while (std::getline(in, line)) {
        INFO("line: " << line);
        REQUIRE_FALSE(closed);
        std::smatch m;
        if (std::regex_match(line, m, vertex)) {
            REQUIRE(dot.vertices.emplace(std::stoul(m[1]), DotVertex{dot_unescape(m[2]), m[3]}).second);
        } else if (std::regex_match(line, m, edge)) {
            dot.edges.push_back({std::stoul(m[1]), std::stoul(m[2]), m[3]});
        } else if (std::regex_match(line, m, graph)) {
            dot.graph_label = dot_unescape(m[1]);
        } else if (line == "}") {
            closed = true;
        } else {
            REQUIRE((line.rfind("  node [", 0) == 0 || line.rfind("  edge [", 0) == 0));
        }
    }
    REQUIRE(closed);
    for (const auto& e : dot.edges) {
        REQUIRE(dot.vertices.count(e.from) == 1);
        REQUIRE(dot.vertices.count(e.to) == 1);
    }
    return dot;
}

inline bool has(const std::string& attrs, const std::string& fragment) {
    return attrs.find(fragment) != std::string::npos;
}
