#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace regevent {

/// How a key's value is written in YAML and checked.
enum class key_kind {
  string,
  /// A string that `to_yaml` writes as `<redacted>`.
  secret,
  boolean,
  /// A non-negative integer within [min, max].
  integer,
  /// A number within [min_real, max_real].
  real,
  /// One word of `choices`.
  choice,
  /// A list of strings.
  list,
  /// `host:port`, an IPv6 host in brackets.
  listen,
  /// A database URL (see database_url.hpp); written redacted.
  url,
};

/// One configuration key as the table in config.cpp declares it: the same
/// entry gives the default, reads the YAML, writes `to_yaml` and documents
/// the key there (and so in the README, which copies that output).
struct config_key {
  /// Dotted path, e.g. `effects.retry.jitter`.
  std::string path;
  key_kind kind = key_kind::string;
  /// Integer keys: the inclusive bounds.
  uint64_t min = 0;
  uint64_t max = 0;
  /// Real keys: the inclusive bounds.
  double min_real = 0;
  double max_real = 0;
  /// Choice keys: the accepted words, in the order error messages list them.
  std::vector<std::string> choices;
  /// The environment variable that overrides the key, if any.
  std::string env;
  /// What the key does; empty where the same key of an earlier effect
  /// already says it.
  std::string doc;
};

/// Every key, in the order `to_yaml` writes them.
const std::vector<config_key>& config_keys();

} // namespace regevent
