#pragma once

#include <stdexcept>

namespace regevent {

/// A configuration error; the message names the key (and the line when the
/// value came from a file) or the environment variable.
class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace regevent
