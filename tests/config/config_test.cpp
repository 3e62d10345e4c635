#include "config/config.hpp"

#include "config/defaults.hpp"
#include "tests/config/env_guard.hpp"
#include "tests/config/errors.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <string>

namespace regevent {
namespace {

using test::contains;
using test::env_guard;
using test::error_of;

/// Asserts that `yaml` is rejected with a message containing every part.
void expect_rejected(const std::string& yaml,
                     std::initializer_list<std::string> parts) {
  auto message = error_of(yaml);
  for (const auto& part : parts)
    EXPECT_NE(message.find(part), std::string::npos)
        << "message '" << message << "' lacks '" << part << "' for:\n"
        << yaml;
}

/// The message of the config_error `load_config(path)` raises.
std::string load_error_of(const std::string& path) {
  try {
    load_config(path);
  } catch (const config_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "load_config succeeded but should not";
  return {};
}

// --- defaults --------------------------------------------------------------
// What each default is, is checked against the README (readme_test.cpp);
// these pin the defaults that are promises: safe out of the box, Harbor's
// behaviour, nothing lost.

TEST(config, defaults_listen_on_loopback_8080_with_sqlite) {
  auto c = default_config();
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.database.parsed.backend, database_url::backend_kind::sqlite);
  EXPECT_EQ(c.database.parsed.path, "regevent.db");
}

TEST(config, defaults_database_section) {
  auto c = default_config();
  EXPECT_EQ(c.database.url, "sqlite://regevent.db");
  EXPECT_EQ(c.database.sqlite_synchronous, "normal");
  EXPECT_EQ(c.database.parsed.redacted, "sqlite://regevent.db");
}

TEST(config, defaults_auth_and_log_sections) {
  auto c = default_config();
  EXPECT_TRUE(c.auth.notify_token.empty());
  EXPECT_TRUE(c.auth.admin_token.empty());
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
}

TEST(config, defaults_filter_section_follows_harbor) {
  auto c = default_config();
  EXPECT_EQ(c.filter.default_project, "library");
  EXPECT_EQ(c.filter.unknown_project, unknown_project_policy::create);
  EXPECT_EQ(c.filter.head_requests, head_policy::touch);
  std::vector<std::string> agents{"harbor-registry-client",
                                  "harbor-replication-service",
                                  "regevent-replicator", "regevent-scanner",
                                  "regevent-reconcile", "regevent-inspector"};
  EXPECT_EQ(c.filter.internal_user_agents, agents);
}

TEST(config, defaults_run_every_effect_once) {
  auto c = default_config();
  ASSERT_EQ(c.effects.actors.size(), effect_names().size());
  for (const auto& name : effect_names()) {
    ASSERT_EQ(c.effects.actors.count(name), 1u) << name;
    const auto& e = c.effects.actors.at(name);
    EXPECT_TRUE(e.enabled) << name;
    EXPECT_EQ(e.instances, 1u) << name;
  }
  EXPECT_FALSE(c.effects.paused);
}

TEST(config, defaults_keep_audit_rows_and_inject_no_faults) {
  auto c = default_config();
  EXPECT_EQ(c.retention.access_log_days, 0u);
  EXPECT_EQ(c.retention.journal_days, 7u);
  EXPECT_EQ(c.retention.dedup_days, 30u);
  EXPECT_EQ(c.faults.mode, fault_mode::none);
  EXPECT_TRUE(c.faults.effect.empty());
}

TEST(config, effect_names_in_start_order) {
  std::vector<std::string> expected{"access_log", "repositories",
                                    "pull_counter", "artifacts", "webhooks",
                                    "replication", "scanning"};
  EXPECT_EQ(effect_names(), expected);
}

TEST(config, a_sealing_key_must_be_32_bytes_of_base64) {
  for (const char* bad :
       {"s3cret", "c2hvcnQ=", "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E",
        "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E==",
        "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj-E="}) {
    auto message = error_of(std::string("secrets:\n  key: \"") + bad + "\"\n");
    EXPECT_TRUE(contains(message, "secrets.key")) << bad << ": " << message;
  }
  auto cfg = load_config_from_string(
      "secrets:\n  key: q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=\n");
  EXPECT_EQ(cfg.secrets.key, "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=");
}

TEST(config, tls_is_off_by_default_and_its_files_come_in_pairs) {
  auto plain = default_config();
  EXPECT_TRUE(plain.tls.cert_file.empty());
  EXPECT_EQ(plain.tls.min_version, "1.2");
  expect_rejected("tls:\n  cert_file: /c.pem\n",
                  {"tls.cert_file and tls.key_file", "both or neither"});
  expect_rejected("tls:\n  key_file: /k.pem\n",
                  {"tls.cert_file and tls.key_file"});
  expect_rejected("tls:\n  client_ca_file: /ca.pem\n",
                  {"tls.client_ca_file", "needs tls.cert_file"});
  expect_rejected("tls:\n  min_version: \"1.1\"\n", {"tls.min_version"});
  auto tls = load_config_from_string("tls:\n  cert_file: /c.pem\n  key_file: "
                                     "/k.pem\n  min_version: 1.3\n");
  EXPECT_EQ(tls.tls.cert_file, "/c.pem");
  EXPECT_EQ(tls.tls.min_version, "1.3");
}

TEST(config, empty_and_comment_only_documents_give_the_defaults) {
  auto reference = to_yaml(default_config());
  EXPECT_EQ(to_yaml(load_config_from_string("")), reference);
  EXPECT_EQ(to_yaml(load_config_from_string("# nothing here\n")), reference);
  EXPECT_EQ(to_yaml(load_config_from_string("---\n")), reference);
}

TEST(config, null_values_keep_the_defaults) {
  auto c = load_config_from_string("http:\n  io_threads:\nlog:\nauth: ~\n");
  EXPECT_EQ(c.http.io_threads, defaults::http::io_threads);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_TRUE(c.auth.notify_token.empty());
}

// --- YAML overrides --------------------------------------------------------

TEST(config, yaml_overrides_every_section) {
  auto c = load_config_from_string(R"(
listen: 0.0.0.0:9090
database:
  url: sqlite:///var/lib/regevent/events.db
  sqlite_synchronous: full
  busy_timeout_ms: 2500
  pool_size: 8
http:
  io_threads: 4
  body_limit: 2097152
  header_limit: 8192
  read_timeout_ms: 1000
  idle_timeout_ms: 2000
  write_timeout_ms: 3000
  max_pipeline: 4
  max_connections: 50
auth:
  notify_token: n0tify
  admin_token: adm1n
log:
  level: debug
  format: json
ingest:
  max_backlog: 1000
  retry_after_s: 30
  group_commit_max: 64
  journal_timeout_ms: 700
filter:
  default_project: base
  unknown_project: skip
  head_requests: count
  internal_user_agents: [my-scanner, "other agent/1"]
dispatch:
  max_dispatchers: 10
  recovery_dispatchers: 2
  recovery_batch: 50
  recovery_poll_ms: 250
  claim_lease_ms: 5000
effects:
  paused: true
  retry:
    attempts: 7
    base_ms: 10
    max_ms: 900
    jitter: 0.5
  restart:
    max_restarts: 3
    window_s: 30
  artifacts:
    enabled: false
    instances: 3
    batch_size: 100
    batch_delay_ms: 0
    request_timeout_ms: 1234
retention:
  access_log_days: 90
  purge_interval_s: 60
  purge_batch: 10
shutdown:
  grace_period_ms: 0
fault_injection:
  effect: pull_counter
  mode: throw
  count: 2
)");
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 9090);
  EXPECT_EQ(c.database.parsed.path, "/var/lib/regevent/events.db");
  EXPECT_EQ(c.database.sqlite_synchronous, "full");
  EXPECT_EQ(c.database.busy_timeout_ms, 2500u);
  EXPECT_EQ(c.database.pool_size, 8u);
  EXPECT_EQ(c.http.io_threads, 4u);
  EXPECT_EQ(c.http.body_limit, 2097152u);
  EXPECT_EQ(c.http.header_limit, 8192u);
  EXPECT_EQ(c.http.read_timeout_ms, 1000u);
  EXPECT_EQ(c.http.idle_timeout_ms, 2000u);
  EXPECT_EQ(c.http.write_timeout_ms, 3000u);
  EXPECT_EQ(c.http.max_pipeline, 4u);
  EXPECT_EQ(c.http.max_connections, 50u);
  EXPECT_EQ(c.auth.notify_token, "n0tify");
  EXPECT_EQ(c.auth.admin_token, "adm1n");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.ingest.max_backlog, 1000u);
  EXPECT_EQ(c.ingest.retry_after_s, 30u);
  EXPECT_EQ(c.ingest.group_commit_max, 64u);
  EXPECT_EQ(c.ingest.journal_timeout_ms, 700u);
  EXPECT_EQ(c.filter.default_project, "base");
  EXPECT_EQ(c.filter.unknown_project, unknown_project_policy::skip);
  EXPECT_EQ(c.filter.head_requests, head_policy::count);
  std::vector<std::string> agents{"my-scanner", "other agent/1"};
  EXPECT_EQ(c.filter.internal_user_agents, agents);
  EXPECT_EQ(c.dispatch.max_dispatchers, 10u);
  EXPECT_EQ(c.dispatch.recovery_dispatchers, 2u);
  EXPECT_EQ(c.dispatch.recovery_batch, 50u);
  EXPECT_EQ(c.dispatch.recovery_poll_ms, 250u);
  EXPECT_EQ(c.dispatch.claim_lease_ms, 5000u);
  EXPECT_TRUE(c.effects.paused);
  EXPECT_EQ(c.effects.retry.attempts, 7u);
  EXPECT_EQ(c.effects.retry.base_ms, 10u);
  EXPECT_EQ(c.effects.retry.max_ms, 900u);
  EXPECT_DOUBLE_EQ(c.effects.retry.jitter, 0.5);
  EXPECT_EQ(c.effects.restart.max_restarts, 3u);
  EXPECT_EQ(c.effects.restart.window_s, 30u);
  const auto& a = c.effects.actors.at("artifacts");
  EXPECT_FALSE(a.enabled);
  EXPECT_EQ(a.instances, 3u);
  EXPECT_EQ(a.batch_size, 100u);
  EXPECT_EQ(a.batch_delay_ms, 0u);
  EXPECT_EQ(a.request_timeout_ms, 1234u);
  // Effects the file does not mention keep their defaults.
  const auto& log = c.effects.actors.at("access_log");
  EXPECT_TRUE(log.enabled);
  EXPECT_EQ(log.instances, 1u);
  EXPECT_EQ(log.batch_size, defaults::effects::batch_size);
  EXPECT_EQ(c.retention.access_log_days, 90u);
  EXPECT_EQ(c.retention.purge_interval_s, 60u);
  EXPECT_EQ(c.retention.purge_batch, 10u);
  EXPECT_EQ(c.shutdown_grace_ms, 0u);
  EXPECT_EQ(c.faults.effect, "pull_counter");
  EXPECT_EQ(c.faults.mode, fault_mode::raise);
  EXPECT_EQ(c.faults.count, 2u);
}

TEST(config, partial_section_keeps_other_keys_of_that_section) {
  auto c = load_config_from_string("http:\n  io_threads: 1\n");
  EXPECT_EQ(c.http.io_threads, 1u);
  EXPECT_EQ(c.http.body_limit, defaults::http::body_limit);
  EXPECT_EQ(c.http.max_connections, defaults::http::max_connections);
}

TEST(config, listen_accepts_ipv6_in_brackets) {
  auto c = load_config_from_string("listen: \"[::1]:8443\"\n");
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 8443);
}

TEST(config, listen_port_zero_asks_for_any_free_port) {
  auto c = load_config_from_string("listen: 127.0.0.1:0\n");
  EXPECT_EQ(c.listen_port, 0);
}

TEST(config, empty_internal_user_agent_list_is_allowed) {
  auto c = load_config_from_string("filter:\n  internal_user_agents: []\n");
  EXPECT_TRUE(c.filter.internal_user_agents.empty());
}

TEST(config, booleans_accept_yaml_spellings) {
  EXPECT_TRUE(
      load_config_from_string("effects:\n  paused: yes\n").effects.paused);
  EXPECT_FALSE(
      load_config_from_string("effects:\n  paused: false\n").effects.paused);
}

// --- unknown keys ----------------------------------------------------------

TEST(config, unknown_top_level_key_is_named_with_its_line) {
  expect_rejected("listen: 127.0.0.1:1\nlisten_port: 80\n",
                  {"listen_port", "(line 2)", "unknown key"});
}

TEST(config, unknown_nested_key_names_the_full_path_and_line) {
  expect_rejected("log:\n  level: info\neffects:\n  artifacts:\n"
                  "    instances: 2\n    bogus: 1\n",
                  {"effects.artifacts.bogus", "(line 6)", "unknown key"});
}

TEST(config, unknown_key_in_every_section_is_rejected) {
  for (const char* section :
       {"database", "http", "auth", "log", "ingest", "filter", "dispatch",
        "effects", "retention", "shutdown", "fault_injection"}) {
    std::string yaml = std::string(section) + ":\n  nope: 1\n";
    expect_rejected(yaml, {std::string(section) + ".nope", "(line 2)"});
  }
  expect_rejected("effects:\n  retry:\n    nope: 1\n",
                  {"effects.retry.nope", "(line 3)"});
  expect_rejected("effects:\n  restart:\n    nope: 1\n",
                  {"effects.restart.nope", "(line 3)"});
}

TEST(config, unknown_effect_name_is_an_unknown_key) {
  expect_rejected("effects:\n  teleport:\n    enabled: true\n",
                  {"effects.teleport", "(line 2)", "unknown key"});
}

TEST(config, duplicate_key_is_rejected_with_its_line) {
  // yaml-cpp keeps both: one would win silently, or two sections would
  // merge.
  expect_rejected("http:\n  io_threads: 1\n  io_threads: 2\n",
                  {"http.io_threads", "(line 3)", "duplicate key"});
  expect_rejected("http:\n  io_threads: 1\nhttp:\n  body_limit: 2048\n",
                  {"http", "(line 3)", "duplicate key"});
}

TEST(config, keys_are_case_sensitive) {
  expect_rejected("Listen: 127.0.0.1:1\n", {"Listen", "unknown key"});
}

TEST(config, non_string_key_is_a_config_error) {
  // A complex key must be reported like any other unknown key, not escape
  // as a yaml-cpp conversion exception.
  expect_rejected("? [a, b]\n: 1\n", {"(line 1)"});
  expect_rejected("log:\n  ? {x: 1}\n  : 2\n", {"log", "(line 2)"});
}

// --- wrong types -----------------------------------------------------------

TEST(config, string_for_an_integer_is_rejected) {
  expect_rejected("http:\n  io_threads: four\n",
                  {"http.io_threads", "(line 2)", "integer"});
  expect_rejected("dispatch:\n  recovery_batch: 1.5\n",
                  {"dispatch.recovery_batch", "integer"});
}

TEST(config, map_for_a_string_is_rejected) {
  expect_rejected("auth:\n  notify_token:\n    value: s3cret\n",
                  {"auth.notify_token", "must be a string"});
}

TEST(config, list_for_a_scalar_is_rejected) {
  expect_rejected("listen: [127.0.0.1, 8080]\n",
                  {"listen", "(line 1)", "must be a string"});
  expect_rejected("http:\n  io_threads: [1]\n",
                  {"http.io_threads", "(line 2)", "integer"});
  expect_rejected("log:\n  level: [info]\n", {"log.level", "must be one of"});
  expect_rejected("effects:\n  paused: [true]\n",
                  {"effects.paused", "true or false"});
}

TEST(config, scalar_for_a_section_is_rejected) {
  expect_rejected("http: 5\n", {"http", "(line 1)", "must be a mapping"});
  expect_rejected("effects:\n  retry: fast\n",
                  {"effects.retry", "(line 2)", "must be a mapping"});
}

TEST(config, non_mapping_document_is_rejected) {
  auto message = error_of("- a\n- b\n");
  EXPECT_TRUE(contains(message, "configuration (line 1)")) << message;
  EXPECT_TRUE(contains(message, "must be a mapping")) << message;
  EXPECT_TRUE(contains(message, "(line 1)")) << message;
}

TEST(config, scalar_for_a_list_is_rejected) {
  expect_rejected("filter:\n  internal_user_agents: curl\n",
                  {"filter.internal_user_agents", "list of strings"});
  expect_rejected("filter:\n  internal_user_agents:\n    - [a]\n",
                  {"filter.internal_user_agents", "list of strings"});
}

TEST(config, wrong_boolean_is_rejected) {
  expect_rejected("effects:\n  artifacts:\n    enabled: maybe\n",
                  {"effects.artifacts.enabled", "(line 3)", "true or false"});
}

TEST(config, wrong_number_is_rejected) {
  expect_rejected("effects:\n  retry:\n    jitter: lots\n",
                  {"effects.retry.jitter", "(line 3)", "number"});
}

TEST(config, invalid_yaml_is_a_config_error) {
  auto message = error_of("listen: [unclosed\n");
  EXPECT_TRUE(contains(message, "not valid YAML")) << message;
}

// --- ranges ----------------------------------------------------------------

TEST(config, integers_out_of_range_are_rejected_with_bounds) {
  expect_rejected("http:\n  io_threads: 0\n",
                  {"http.io_threads", "between 1 and 64", "got 0"});
  expect_rejected("http:\n  io_threads: 65\n", {"http.io_threads", "got 65"});
  expect_rejected("http:\n  body_limit: 1023\n", {"http.body_limit"});
  expect_rejected("database:\n  pool_size: 0\n", {"database.pool_size"});
  expect_rejected("ingest:\n  retry_after_s: 3601\n", {"ingest.retry_after_s"});
  expect_rejected("dispatch:\n  claim_lease_ms: 999\n",
                  {"dispatch.claim_lease_ms"});
  expect_rejected("effects:\n  pull_counter:\n    instances: 65\n",
                  {"effects.pull_counter.instances", "(line 3)"});
  expect_rejected("retention:\n  access_log_days: 36501\n",
                  {"retention.access_log_days"});
  expect_rejected("retention:\n  journal_days: 0\n",
                  {"retention.journal_days"});
  expect_rejected("fault_injection:\n  count: 1000001\n",
                  {"fault_injection.count"});
}

TEST(config, range_bounds_are_inclusive) {
  auto c
      = load_config_from_string("http:\n  io_threads: 64\n  body_limit: 1024\n"
                                "effects:\n  restart:\n    max_restarts: 0\n"
                                "retention:\n  access_log_days: 36500\n");
  EXPECT_EQ(c.http.io_threads, 64u);
  EXPECT_EQ(c.http.body_limit, 1024u);
  EXPECT_EQ(c.effects.restart.max_restarts, 0u);
  EXPECT_EQ(c.retention.access_log_days, 36500u);
}

TEST(config, negative_and_huge_integers_are_rejected) {
  expect_rejected("http:\n  io_threads: -1\n",
                  {"http.io_threads", "non-negative integer"});
  expect_rejected("ingest:\n  max_backlog: 99999999999999999999999\n",
                  {"ingest.max_backlog", "out of range"});
  expect_rejected("ingest:\n  max_backlog: 4294967296\n",
                  {"ingest.max_backlog", "between"});
}

TEST(config, jitter_must_be_between_zero_and_one) {
  expect_rejected("effects:\n  retry:\n    jitter: 1.5\n",
                  {"effects.retry.jitter", "between"});
  expect_rejected("effects:\n  retry:\n    jitter: -0.1\n",
                  {"effects.retry.jitter"});
  EXPECT_DOUBLE_EQ(
      load_config_from_string("effects:\n  retry:\n    jitter: 0\n")
          .effects.retry.jitter,
      0.0);
}

TEST(config, jitter_rejects_nan_and_infinity) {
  expect_rejected("effects:\n  retry:\n    jitter: .nan\n",
                  {"effects.retry.jitter"});
  expect_rejected("effects:\n  retry:\n    jitter: .inf\n",
                  {"effects.retry.jitter"});
}

TEST(config, retry_base_must_not_exceed_max) {
  expect_rejected("effects:\n  retry:\n    base_ms: 500\n    max_ms: 100\n",
                  {"effects.retry.base_ms"});
}

TEST(config, listen_must_be_host_and_valid_port) {
  expect_rejected("listen: 8080\n", {"listen", "host:port"});
  expect_rejected("listen: \":8080\"\n", {"listen", "host:port"});
  expect_rejected("listen: 127.0.0.1:70000\n", {"listen", "70000"});
  expect_rejected("listen: 127.0.0.1:http\n", {"listen", "port"});
  expect_rejected("listen: \"127.0.0.1:\"\n", {"listen", "port"});
  expect_rejected("listen: 127.0.0.1:123456789012345678901\n",
                  {"listen", "port"});
}

TEST(config, default_project_must_be_a_plain_name) {
  expect_rejected("filter:\n  default_project: a/b\n",
                  {"filter.default_project"});
  expect_rejected("filter:\n  default_project: \"\"\n",
                  {"filter.default_project"});
}

TEST(config, fault_injection_effect_must_be_known) {
  expect_rejected("fault_injection:\n  effect: teleport\n  mode: fail\n",
                  {"fault_injection.effect", "teleport"});
  // Without a mode the effect name is not used and not checked.
  EXPECT_EQ(
      load_config_from_string("fault_injection:\n  effect: x\n").faults.mode,
      fault_mode::none);
}

// --- enums -----------------------------------------------------------------

TEST(config, log_level_accepts_each_level) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"})
    EXPECT_EQ(
        load_config_from_string(std::string("log:\n  level: ") + level + "\n")
            .log.level,
        level);
}

TEST(config, log_level_rejects_other_words_and_lists_the_options) {
  expect_rejected("log:\n  level: verbose\n",
                  {"log.level", "(line 2)",
                   "trace, debug, info, warn, error, "
                   "off"});
  expect_rejected("log:\n  level: INFO\n", {"log.level"});
  expect_rejected("log:\n  format: xml\n", {"log.format", "text, json"});
}

TEST(config, head_requests_policies) {
  EXPECT_EQ(load_config_from_string("filter:\n  head_requests: count\n")
                .filter.head_requests,
            head_policy::count);
  EXPECT_EQ(load_config_from_string("filter:\n  head_requests: touch\n")
                .filter.head_requests,
            head_policy::touch);
  EXPECT_EQ(load_config_from_string("filter:\n  head_requests: ignore\n")
                .filter.head_requests,
            head_policy::ignore);
  expect_rejected("filter:\n  head_requests: drop\n",
                  {"filter.head_requests", "touch, count, ignore"});
}

TEST(config, unknown_project_policies) {
  EXPECT_EQ(load_config_from_string("filter:\n  unknown_project: skip\n")
                .filter.unknown_project,
            unknown_project_policy::skip);
  EXPECT_EQ(load_config_from_string("filter:\n  unknown_project: create\n")
                .filter.unknown_project,
            unknown_project_policy::create);
  expect_rejected("filter:\n  unknown_project: reject\n",
                  {"filter.unknown_project", "create, skip"});
}

TEST(config, sqlite_synchronous_values) {
  for (const char* mode : {"off", "normal", "full", "extra"})
    EXPECT_EQ(
        load_config_from_string(std::string("database:\n  sqlite_synchronous: ")
                                + mode + "\n")
            .database.sqlite_synchronous,
        mode);
  // The value ends up in a PRAGMA: nothing but the four words may pass.
  expect_rejected("database:\n  sqlite_synchronous: \"full; DROP TABLE x\"\n",
                  {"database.sqlite_synchronous", "off, normal, full, extra"});
}

TEST(config, fault_mode_values) {
  EXPECT_EQ(load_config_from_string(
                "fault_injection:\n  effect: artifacts\n  mode: fail\n")
                .faults.mode,
            fault_mode::fail);
  expect_rejected("fault_injection:\n  mode: crash\n",
                  {"fault_injection.mode", "none, fail, throw"});
}

TEST(config, enum_names_round_trip_through_to_string) {
  EXPECT_STREQ(to_string(head_policy::count), "count");
  EXPECT_STREQ(to_string(head_policy::touch), "touch");
  EXPECT_STREQ(to_string(head_policy::ignore), "ignore");
  EXPECT_STREQ(to_string(unknown_project_policy::create), "create");
  EXPECT_STREQ(to_string(unknown_project_policy::skip), "skip");
  EXPECT_STREQ(to_string(fault_mode::none), "none");
  EXPECT_STREQ(to_string(fault_mode::fail), "fail");
  EXPECT_STREQ(to_string(fault_mode::raise), "throw");
}

TEST(config, database_url_from_yaml_is_parsed_and_validated) {
  auto c = load_config_from_string(
      "database:\n  url: postgresql://u:p@h:5432/d\n");
  EXPECT_EQ(c.database.parsed.backend, database_url::backend_kind::postgresql);
  EXPECT_EQ(c.database.parsed.redacted, "postgresql://u:***@h:5432/d");
  expect_rejected("database:\n  url: mysql://x/y\n", {"database.url"});
}

// --- environment -----------------------------------------------------------

class config_env : public ::testing::Test {
protected:
  void SetUp() override {
    env.clear_regevent();
  }

  std::string write(const std::string& name, const std::string& text) {
    auto path = dir.file(name);
    test::write_file(path, text);
    return path;
  }

  env_guard env;
  test::temp_dir dir;
};

TEST_F(config_env, no_file_and_no_environment_gives_the_defaults) {
  EXPECT_EQ(to_yaml(load_config("")), to_yaml(default_config()));
}

TEST_F(config_env, file_is_loaded) {
  auto path = write("c.yml", "listen: 10.0.0.1:81\nlog:\n  level: warn\n");
  auto c = load_config(path);
  EXPECT_EQ(c.listen_host, "10.0.0.1");
  EXPECT_EQ(c.listen_port, 81);
  EXPECT_EQ(c.log.level, "warn");
}

TEST_F(config_env, missing_file_is_a_config_error) {
  auto message = load_error_of(dir.file("absent.yml"));
  EXPECT_TRUE(contains(message, "absent.yml")) << message;
}

TEST_F(config_env, invalid_file_names_the_key_and_line) {
  auto path = write("c.yml", "# comment\neffects:\n  artifacts:\n"
                             "    bogus: 1\n");
  auto message = load_error_of(path);
  EXPECT_TRUE(contains(message, "effects.artifacts.bogus")) << message;
  EXPECT_TRUE(contains(message, "(line 4)")) << message;
}

TEST_F(config_env, listen_override) {
  auto path = write("c.yml", "listen: 10.0.0.1:81\n");
  env.set("REGEVENT_LISTEN", "0.0.0.0:9000");
  auto c = load_config(path);
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 9000);
  env.set("REGEVENT_LISTEN", "[::]:9001");
  auto v6 = load_config("");
  EXPECT_EQ(v6.listen_host, "::");
  EXPECT_EQ(v6.listen_port, 9001);
}

TEST_F(config_env, invalid_listen_override_names_the_variable) {
  env.set("REGEVENT_LISTEN", "nohost");
  EXPECT_TRUE(contains(load_error_of(""), "REGEVENT_LISTEN"));
  env.set("REGEVENT_LISTEN", "h:99999");
  EXPECT_TRUE(contains(load_error_of(""), "REGEVENT_LISTEN"));
}

TEST_F(config_env, database_url_override) {
  auto path = write("c.yml", "database:\n  url: sqlite://a.db\n");
  env.set("REGEVENT_DATABASE_URL", "postgresql://u:pw@h:5432/d");
  auto c = load_config(path);
  EXPECT_EQ(c.database.parsed.backend, database_url::backend_kind::postgresql);
  EXPECT_EQ(c.database.parsed.connection_string,
            "host='h' port='5432' dbname='d' user='u' password='pw'");
}

TEST_F(config_env, invalid_database_url_override_names_the_variable) {
  env.set("REGEVENT_DATABASE_URL", "mysql://h/d");
  auto message = load_error_of("");
  EXPECT_TRUE(contains(message, "REGEVENT_DATABASE_URL")) << message;
}

TEST_F(config_env, token_overrides) {
  auto path = write("c.yml", "auth:\n  notify_token: from-file\n"
                             "  admin_token: admin-file\n");
  env.set("REGEVENT_NOTIFY_TOKEN", "from-env");
  env.set("REGEVENT_ADMIN_TOKEN", "admin-env");
  auto c = load_config(path);
  EXPECT_EQ(c.auth.notify_token, "from-env");
  EXPECT_EQ(c.auth.admin_token, "admin-env");
}

TEST_F(config_env, file_values_stay_without_overrides) {
  auto path = write("c.yml", "auth:\n  notify_token: from-file\n");
  auto c = load_config(path);
  EXPECT_EQ(c.auth.notify_token, "from-file");
  EXPECT_TRUE(c.auth.admin_token.empty());
}

TEST_F(config_env, secret_file_variants_strip_the_trailing_newline) {
  env.set("REGEVENT_NOTIFY_TOKEN_FILE", write("notify", "n-secret\n"));
  env.set("REGEVENT_ADMIN_TOKEN_FILE", write("admin", "a-secret\r\n"));
  env.set("REGEVENT_DATABASE_URL_FILE",
          write("url", "postgresql://u:db-secret@h/d\n"));
  auto c = load_config("");
  EXPECT_EQ(c.auth.notify_token, "n-secret");
  EXPECT_EQ(c.auth.admin_token, "a-secret");
  EXPECT_EQ(c.database.parsed.connection_string,
            "host='h' dbname='d' user='u' password='db-secret'");
}

TEST_F(config_env, secret_file_keeps_inner_content) {
  env.set("REGEVENT_NOTIFY_TOKEN_FILE", write("notify", "two words\n\n"));
  EXPECT_EQ(load_config("").auth.notify_token, "two words");
}

TEST_F(config_env, plain_variable_wins_over_file_variant) {
  env.set("REGEVENT_NOTIFY_TOKEN", "plain");
  env.set("REGEVENT_NOTIFY_TOKEN_FILE", write("notify", "from-file\n"));
  EXPECT_EQ(load_config("").auth.notify_token, "plain");
}

TEST_F(config_env, unreadable_secret_file_names_the_variable) {
  env.set("REGEVENT_ADMIN_TOKEN_FILE", dir.file("missing"));
  auto message = load_error_of("");
  EXPECT_TRUE(contains(message, "REGEVENT_ADMIN_TOKEN_FILE")) << message;
  EXPECT_TRUE(contains(message, "missing")) << message;
}

TEST_F(config_env, load_config_from_string_ignores_the_environment) {
  env.set("REGEVENT_NOTIFY_TOKEN", "env");
  env.set("REGEVENT_LISTEN", "0.0.0.0:1");
  auto c = load_config_from_string("");
  EXPECT_TRUE(c.auth.notify_token.empty());
  EXPECT_EQ(c.listen_port, 8080);
}

TEST_F(config_env, fault_injection_from_environment) {
  env.set("REGEVENT_FAULT_INJECTION", "artifacts:fail:3");
  auto c = load_config("");
  EXPECT_EQ(c.faults.effect, "artifacts");
  EXPECT_EQ(c.faults.mode, fault_mode::fail);
  EXPECT_EQ(c.faults.count, 3u);
  env.set("REGEVENT_FAULT_INJECTION", "access_log:throw:1");
  auto t = load_config("");
  EXPECT_EQ(t.faults.effect, "access_log");
  EXPECT_EQ(t.faults.mode, fault_mode::raise);
  EXPECT_EQ(t.faults.count, 1u);
}

TEST_F(config_env, fault_injection_environment_overrides_the_file) {
  auto path = write("c.yml", "fault_injection:\n  effect: access_log\n"
                             "  mode: fail\n  count: 9\n");
  env.set("REGEVENT_FAULT_INJECTION", "pull_counter:throw:2");
  auto c = load_config(path);
  EXPECT_EQ(c.faults.effect, "pull_counter");
  EXPECT_EQ(c.faults.mode, fault_mode::raise);
  EXPECT_EQ(c.faults.count, 2u);
}

TEST_F(config_env, malformed_fault_injection_is_rejected) {
  for (const char* value :
       {"artifacts", "artifacts:fail", "artifacts:explode:1",
        "artifacts:fail:x", "artifacts:fail:", "artifacts:fail:-1",
        "artifacts:fail:3x", "artifacts:fail:99999999999"}) {
    env.set("REGEVENT_FAULT_INJECTION", value);
    auto message = load_error_of("");
    EXPECT_TRUE(contains(message, "REGEVENT_FAULT_INJECTION"))
        << value << ": " << message;
  }
}

TEST_F(config_env, fault_injection_of_unknown_effect_is_rejected) {
  env.set("REGEVENT_FAULT_INJECTION", "teleport:fail:1");
  auto message = load_error_of("");
  EXPECT_TRUE(contains(message, "fault_injection.effect")) << message;
  EXPECT_TRUE(contains(message, "teleport")) << message;
}

// --- to_yaml ---------------------------------------------------------------

TEST(to_yaml, redacts_tokens_and_database_password) {
  auto c = load_config_from_string(
      "auth:\n  notify_token: n-secret-1\n  admin_token: a-secret-2\n"
      "database:\n  url: postgresql://u:db-secret-3@h:5432/d\n");
  auto text = to_yaml(c);
  EXPECT_FALSE(contains(text, "n-secret-1")) << text;
  EXPECT_FALSE(contains(text, "a-secret-2")) << text;
  EXPECT_FALSE(contains(text, "db-secret-3")) << text;
  EXPECT_TRUE(contains(text, "notify_token: <redacted>")) << text;
  EXPECT_TRUE(contains(text, "admin_token: <redacted>")) << text;
  EXPECT_TRUE(contains(text, "postgresql://u:***@h:5432/d")) << text;
}

TEST(to_yaml, empty_tokens_stay_empty) {
  auto text = to_yaml(default_config());
  EXPECT_FALSE(contains(text, "<redacted>")) << text;
  EXPECT_TRUE(contains(text, "url: sqlite://regevent.db")) << text;
  EXPECT_TRUE(contains(text, "listen: 127.0.0.1:8080")) << text;
}

TEST(to_yaml, defaults_round_trip) {
  auto c = default_config();
  auto text = to_yaml(c);
  auto back = load_config_from_string(text);
  EXPECT_EQ(to_yaml(back), text);
  EXPECT_EQ(back.listen_host, c.listen_host);
  EXPECT_EQ(back.database.parsed.path, "regevent.db");
  EXPECT_DOUBLE_EQ(back.effects.retry.jitter, c.effects.retry.jitter);
}

TEST(to_yaml, every_key_round_trips) {
  auto c = load_config_from_string(R"(
listen: "[::1]:9443"
database:
  url: postgresql://u:pw@db:5433/events
  sqlite_synchronous: extra
  busy_timeout_ms: 1
  pool_size: 2
http: {io_threads: 3, body_limit: 4096, header_limit: 2048,
       read_timeout_ms: 5, idle_timeout_ms: 6, write_timeout_ms: 7,
       max_pipeline: 8, max_connections: 9}
auth: {notify_token: "x: y", admin_token: "#z"}
log: {level: error, format: json}
ingest: {max_backlog: 11, retry_after_s: 12, group_commit_max: 13,
         journal_timeout_ms: 14}
filter:
  default_project: "team a"
  unknown_project: skip
  head_requests: ignore
  internal_user_agents: ["a, b", "c: d", "[e]"]
dispatch: {max_dispatchers: 15, recovery_dispatchers: 16,
           recovery_batch: 17, recovery_poll_ms: 18, claim_lease_ms: 1019}
effects:
  paused: true
  retry: {attempts: 20, base_ms: 21, max_ms: 22, jitter: 0.1}
  restart: {max_restarts: 23, window_s: 24}
  access_log: {enabled: false, instances: 2, batch_size: 25,
               batch_delay_ms: 26, request_timeout_ms: 27}
  pull_counter: {instances: 4}
retention: {access_log_days: 28, purge_interval_s: 29, purge_batch: 30}
shutdown: {grace_period_ms: 31}
fault_injection: {effect: repositories, mode: fail, count: 32}
)");
  auto text = to_yaml(c);
  auto back = load_config_from_string(text);
  EXPECT_EQ(to_yaml(back), text);
  EXPECT_EQ(back.listen_host, "::1");
  EXPECT_EQ(back.listen_port, 9443);
  EXPECT_EQ(back.database.parsed.redacted, "postgresql://u:***@db:5433/events");
  EXPECT_EQ(back.database.sqlite_synchronous, "extra");
  EXPECT_EQ(back.http.max_connections, 9u);
  EXPECT_EQ(back.log.level, "error");
  EXPECT_EQ(back.ingest.journal_timeout_ms, 14u);
  EXPECT_EQ(back.filter.default_project, "team a");
  EXPECT_EQ(back.filter.unknown_project, unknown_project_policy::skip);
  EXPECT_EQ(back.filter.head_requests, head_policy::ignore);
  std::vector<std::string> agents{"a, b", "c: d", "[e]"};
  EXPECT_EQ(back.filter.internal_user_agents, agents);
  EXPECT_EQ(back.dispatch.claim_lease_ms, 1019u);
  EXPECT_TRUE(back.effects.paused);
  EXPECT_DOUBLE_EQ(back.effects.retry.jitter, 0.1);
  EXPECT_EQ(back.effects.restart.window_s, 24u);
  EXPECT_FALSE(back.effects.actors.at("access_log").enabled);
  EXPECT_EQ(back.effects.actors.at("access_log").request_timeout_ms, 27u);
  EXPECT_EQ(back.effects.actors.at("pull_counter").instances, 4u);
  EXPECT_EQ(back.retention.purge_batch, 30u);
  EXPECT_EQ(back.shutdown_grace_ms, 31u);
  EXPECT_EQ(back.faults.effect, "repositories");
  EXPECT_EQ(back.faults.mode, fault_mode::fail);
  EXPECT_EQ(back.faults.count, 32u);
  // Secrets are replaced by the marker, never copied through.
  EXPECT_EQ(back.auth.notify_token, "<redacted>");
  EXPECT_EQ(back.auth.admin_token, "<redacted>");
}

TEST(to_yaml, omits_fault_injection_when_off) {
  EXPECT_FALSE(contains(to_yaml(default_config()), "fault_injection"));
}

} // namespace
} // namespace regevent
