#include "config/config.hpp"
#include "config/keys.hpp"
#include "tests/config/errors.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace regevent {
namespace {

using test::contains;
using test::error_of;
using pairs = std::map<std::string, std::string>;

/// A YAML document setting each dotted path to its (YAML) value. Paths that
/// share a section are neighbours in a std::map, so each section is written
/// once.
std::string yaml_of(const pairs& values) {
  std::string out;
  std::vector<std::string> open;
  for (const auto& [path, value] : values) {
    std::vector<std::string> parts;
    std::stringstream ss(path);
    for (std::string part; std::getline(ss, part, '.');)
      parts.push_back(part);
    size_t same = 0;
    while (same < open.size() && same + 1 < parts.size()
           && open[same] == parts[same])
      ++same;
    open.resize(same);
    for (; same + 1 < parts.size(); ++same) {
      out += std::string(2 * same, ' ') + parts[same] + ":\n";
      open.push_back(parts[same]);
    }
    out += std::string(2 * same, ' ') + parts.back() + ": " + value + "\n";
  }
  return out;
}

/// The lines of `text` but those that hold only a comment (which to_yaml
/// writes above a key whose line is too long for it).
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    auto start = line.find_first_not_of(' ');
    if (start != std::string::npos && line[start] != '#')
      lines.push_back(line);
  }
  return lines;
}

struct written_value {
  size_t line = 0;
  std::string text;
};

/// Where (in lines_of) and how `to_yaml` text writes the key at `path`,
/// without its comment.
std::optional<written_value> written(const std::string& text,
                                     const std::string& path) {
  auto lines = lines_of(text);
  std::vector<std::string> open;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    auto start = line.find_first_not_of(' ');
    auto depth = start / 2;
    auto colon = line.find(':', start);
    auto name = line.substr(start, colon - start);
    open.resize(depth);
    if (colon + 1 == line.size()) {
      open.push_back(name);
      continue;
    }
    std::string full;
    for (const auto& section : open)
      full += section + ".";
    if (full + name != path)
      continue;
    auto value = line.substr(colon + 2);
    if (auto comment = value.find("  # "); comment != std::string::npos)
      value = value.substr(0, comment);
    value.erase(value.find_last_not_of(' ') + 1);
    return written_value{i, value};
  }
  return std::nullopt;
}

/// A value to set, as YAML, and how to_yaml writes it back.
struct sample {
  std::string yaml;
  std::string written;
};

/// Values within each key's range, both ends where the rules across keys
/// allow them.
std::vector<sample> samples_of(const config_key& key) {
  // heartbeat_timeout_ms >= 3 * recovery_poll_ms and base_ms <= max_ms,
  // with the other key at its default.
  static const std::map<std::string, std::vector<uint64_t>> integers{
      {"dispatch.recovery_poll_ms", {10, 3333}},
      {"dispatch.heartbeat_timeout_ms", {3000, 86'400'000}},
      {"effects.retry.base_ms", {1, 10'000}},
      {"effects.retry.max_ms", {100, 86'400'000}},
      // retry_base_ms <= retry_max_ms, 2 * timeout_ms + 1000 <= claim_lease_ms.
      {"webhooks.retry_base_ms", {1, 300'000}},
      {"webhooks.retry_max_ms", {1'000, 86'400'000}},
      {"webhooks.timeout_ms", {1, 29'499}},
      {"webhooks.claim_lease_ms", {21'000, 86'400'000}},
      {"replication.retry_base_ms", {1, 600'000}},
      {"replication.retry_max_ms", {5'000, 86'400'000}},
      {"scanning.retry_base_ms", {1, 300'000}},
      {"scanning.retry_max_ms", {5'000, 86'400'000}},
  };
  std::vector<sample> out;
  auto add = [&out](const std::string& yaml) {
    out.push_back({yaml, yaml});
  };
  switch (key.kind) {
    case key_kind::integer:
      if (auto it = integers.find(key.path); it != integers.end()) {
        for (auto v : it->second)
          add(std::to_string(v));
      } else {
        add(std::to_string(key.min));
        add(std::to_string(key.max));
      }
      break;
    case key_kind::real:
      for (const char* v : {"0", "1", "0.1", "0.3", "0.123456789"})
        add(v);
      break;
    case key_kind::boolean:
      add("true");
      add("false");
      break;
    case key_kind::choice:
      for (const auto& choice : key.choices)
        // `none` switches the section off: nothing to write back.
        if (!(key.path == "fault_injection.mode" && choice == "none"))
          add(choice);
      break;
    case key_kind::string:
      if (key.path == "fault_injection.effect") {
        add("repositories");
      } else if (key.path == "source_registry.url"
                 || key.path == "scanning.registry_url") {
        // A URL, checked for its scheme.
        add("https://dr.example");
        add("http://127.0.0.1:5000");
      } else {
        for (const char* v : {"team a", "\"a #b\"", "\"x: y\"", "true"})
          add(v);
      }
      break;
    case key_kind::secret:
      // The sealing key has a form of its own (32 bytes in base64).
      out.push_back({key.path == "secrets.key"
                         ? "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E="
                         : "s3cret",
                     "<redacted>"});
      out.push_back({"\"\"", "\"\""});
      break;
    case key_kind::list:
      // The allow-list holds networks; other lists any text.
      // API tokens have a form of their own (name:role:sha256 hex).
      if (key.path == "auth.api_tokens") {
        for (const char* v :
             {"[]",
              "[ci:read:"
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad]"})
          add(v);
        break;
      }
      if (key.path == "webhooks.allow_networks") {
        for (const char* v :
             {"[]", "[127.0.0.0/8]", "[10.0.0.0/8, 192.168.0.0/16]"})
          add(v);
        break;
      }
      for (const char* v : {"[]", "[one]", "[\"a, b\", \"#c\", \"[d]\"]"})
        add(v);
      break;
    case key_kind::listen:
      add("0.0.0.0:65535");
      add("\"[::1]:0\"");
      break;
    case key_kind::url:
      add("sqlite:///var/lib/regevent/x.db");
      out.push_back({"postgresql://u:pw@h:1/d?sslmode=require",
                     "postgresql://u:***@h:1/d?sslmode=require"});
      break;
  }
  return out;
}

TEST(config_keys, paths_are_unique_and_not_sections_of_each_other) {
  std::set<std::string> paths;
  for (const auto& key : config_keys())
    EXPECT_TRUE(paths.insert(key.path).second) << key.path;
  for (const auto& key : config_keys())
    for (const auto& other : config_keys())
      EXPECT_NE(other.path.rfind(key.path + ".", 0), 0u)
          << key.path << " is a key and a section";
}

TEST(config_keys, every_effect_has_the_same_keys) {
  for (const auto& name : effect_names())
    for (const char* leaf : {"enabled", "instances", "batch_size",
                             "batch_delay_ms", "request_timeout_ms"}) {
      auto path = "effects." + name + "." + leaf;
      bool found = false;
      for (const auto& key : config_keys())
        found = found || key.path == path;
      EXPECT_TRUE(found) << path;
    }
}

/// Each key, set alone, comes back from to_yaml as written, changes no other
/// line, and reads back to the same text: a reader and a writer that reach
/// different members, or two keys sharing one, fail here.
TEST(config_keys, every_key_round_trips_through_to_yaml_alone) {
  // Fault injection switched on, so that its keys are written too; a
  // source registry, which reconcile.on_start and interval_s need.
  const pairs base{{"fault_injection.effect", "artifacts"},
                   {"fault_injection.mode", "fail"},
                   {"source_registry.url", "http://127.0.0.1:5000"}};
  // The TLS files come in pairs (and the client CAs need them): their
  // base serves TLS, and the sample replaces one.
  const pairs tls{{"tls.cert_file", "/c.pem"}, {"tls.key_file", "/k.pem"}};
  for (const auto& key : config_keys()) {
    auto key_base = base;
    if (key.path.rfind("tls.", 0) == 0 && key.path != "tls.min_version")
      key_base.insert(tls.begin(), tls.end());
    const auto base_text = to_yaml(load_config_from_string(yaml_of(key_base)));
    const auto base_lines = lines_of(base_text);
    auto samples = samples_of(key);
    ASSERT_FALSE(samples.empty()) << key.path;
    for (const auto& s : samples) {
      auto values = key_base;
      values[key.path] = s.yaml;
      auto yaml = yaml_of(values);
      SCOPED_TRACE(yaml);
      config c;
      ASSERT_NO_THROW(c = load_config_from_string(yaml));
      auto text = to_yaml(c);
      auto w = written(text, key.path);
      ASSERT_TRUE(w.has_value()) << key.path << " missing in:\n" << text;
      EXPECT_EQ(w->text, s.written) << key.path;
      auto lines = lines_of(text);
      ASSERT_EQ(lines.size(), base_lines.size()) << text;
      for (size_t i = 0; i < lines.size(); ++i) {
        if (i != w->line) {
          EXPECT_EQ(lines[i], base_lines[i]) << "setting " << key.path;
        }
      }
      // A redacted secret is not its value: it cannot load back (the
      // sealing key checks its form).
      if (key.kind == key_kind::secret && s.written == "<redacted>")
        continue;
      std::string again;
      ASSERT_NO_THROW(again = to_yaml(load_config_from_string(text))) << text;
      EXPECT_EQ(again, text) << key.path;
    }
  }
}

/// Bounds are inclusive; one past either end is an error that names the
/// key, its line and the range.
TEST(config_keys, out_of_range_values_name_their_key_and_line) {
  for (const auto& key : config_keys()) {
    auto line = "(line "
                + std::to_string(
                    std::count(key.path.begin(), key.path.end(), '.') + 1)
                + ")";
    std::vector<std::string> wrong;
    std::string expected;
    switch (key.kind) {
      case key_kind::integer:
        ASSERT_LT(key.max, std::numeric_limits<uint64_t>::max());
        wrong.push_back(std::to_string(key.max + 1));
        if (key.min > 0)
          wrong.push_back(std::to_string(key.min - 1));
        expected = "must be between " + std::to_string(key.min) + " and "
                   + std::to_string(key.max);
        break;
      case key_kind::real:
        wrong = {std::to_string(key.max_real + 0.5),
                 std::to_string(key.min_real - 0.5)};
        expected = "must be between";
        break;
      case key_kind::choice: {
        wrong = {"bogus"};
        expected = "must be one of: ";
        for (size_t i = 0; i < key.choices.size(); ++i)
          expected += (i == 0 ? "" : ", ") + key.choices[i];
        break;
      }
      case key_kind::boolean:
        wrong = {"maybe"};
        expected = "must be true or false";
        break;
      case key_kind::list:
        wrong = {"one"};
        expected = "must be a list of strings";
        break;
      case key_kind::string:
      case key_kind::secret:
      case key_kind::listen:
      case key_kind::url:
        wrong = {"{a: 1}"};
        expected = "must be a string";
        break;
    }
    for (const auto& value : wrong) {
      auto message = error_of(yaml_of({{key.path, value}}));
      EXPECT_TRUE(contains(message, key.path + " " + line + ": " + expected))
          << key.path << " = " << value << ": " << message;
    }
  }
}

TEST(config_keys, every_key_says_what_it_does) {
  for (const auto& key : config_keys()) {
    // The keys of the other effects are those of the first.
    bool repeated = false;
    for (const auto& name : effect_names())
      repeated = repeated
                 || (name != effect_names().front()
                     && key.path.rfind("effects." + name + ".", 0) == 0);
    // Their names say it all.
    if (repeated || key.path == "effects.restart.window_s"
        || key.path == "retention.purge_interval_s")
      continue;
    EXPECT_FALSE(key.doc.empty() && key.choices.empty()) << key.path;
  }
}

TEST(config_keys, environment_overrides_are_the_documented_ones) {
  std::map<std::string, std::string> env;
  for (const auto& key : config_keys())
    if (!key.env.empty())
      env[key.path] = key.env;
  std::map<std::string, std::string> expected{
      {"listen", "REGEVENT_LISTEN"},
      {"database.url", "REGEVENT_DATABASE_URL"},
      {"auth.notify_token", "REGEVENT_NOTIFY_TOKEN"},
      {"auth.admin_token", "REGEVENT_ADMIN_TOKEN"},
      {"secrets.key", "REGEVENT_SECRETS_KEY"},
      {"source_registry.password", "REGEVENT_SOURCE_REGISTRY_PASSWORD"}};
  EXPECT_EQ(env, expected);
}

/// The README lists every key with its default: the output of
/// `regeventd --check-config` without a file. When a key, default or doc
/// changes, paste that output into the README.
TEST(config_keys, readme_lists_every_key_with_its_default) {
  auto readme
      = test::read_file(std::string(REGEVENT_SCRIPTS_DIR) + "/../README.md");
  auto start = readme.find("Every key with its default");
  ASSERT_NE(start, std::string::npos) << "README lost its key list";
  const std::string fence = "```yaml\n";
  start = readme.find(fence, start);
  ASSERT_NE(start, std::string::npos);
  start += fence.size();
  auto end = readme.find("```\n", start);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(readme.substr(start, end - start), to_yaml(default_config()));
}

} // namespace
} // namespace regevent
