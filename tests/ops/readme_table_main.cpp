// Prints README.md's op table, generated from the op table's rows (scripts/update_readme_ops.sh).
#include <iostream>

#include "op_table.hpp"

int main() {
    std::cout << optable::readme_table();
}
