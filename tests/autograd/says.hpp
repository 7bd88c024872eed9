// A Catch2 matcher for exceptions whose message contains a fragment; combine with && to ask
// for several: CHECK_THROWS_MATCHES(f(), ShapeError, Says("matmul") && Says("[2, 3]")).
#pragma once

#include <catch2/catch.hpp>

#include <exception>
#include <string>

class Says : public Catch::MatcherBase<std::exception> {
public:
    explicit Says(std::string fragment) : fragment_(std::move(fragment)) {}
    bool match(const std::exception& e) const override {
        return std::string(e.what()).find(fragment_) != std::string::npos;
    }
    std::string describe() const override { return "message contains \"" + fragment_ + "\""; }

private:
    std::string fragment_;
};
