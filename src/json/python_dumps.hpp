#pragma once
// Serialisation identical, byte for byte, to Python's json.dumps(obj) with its
// defaults: ", " and ": " separators, keys in object order, every non-ASCII
// character escaped as \uXXXX (surrogate pairs above U+FFFF), floats in repr()
// form. The users' training data and the [INTERPRETER] block are written this
// way, and the models were trained on exactly these bytes.
#include <string>

#include "json/json.hpp"

namespace josi::json {

struct DumpsOptions {
  // false: non-ASCII is written as UTF-8 (json.dumps(..., ensure_ascii=False)),
  // as some of the users' files are.
  bool ensure_ascii = true;
};

std::string python_dumps(const Json& value, DumpsOptions options = {});

// repr() of a Python float: shortest round-trip digits, "1.0", "1e-05", "1e+16".
std::string python_float_repr(double value);

}  // namespace josi::json
