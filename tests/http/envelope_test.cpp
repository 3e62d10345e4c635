#include "http/envelope.hpp"

#include "tests/fixtures/daemon.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace regevent {
namespace {

using json = nlohmann::json;

constexpr timestamp_us received = 1'800'000'000'000'000;

/// 2026-11-27T23:01:07Z, the second of the first captured push.
constexpr timestamp_us t_230107 = 1'795'820'467'000'000;

/// Every captured body, so that a new capture is covered without a list to
/// update.
const std::vector<std::string>& fixture_names() {
  static const std::vector<std::string> names = test::registry_fixture_names();
  return names;
}

/// Parses `body`, failing the test when it is rejected.
envelope parse_ok(const std::string& body) {
  std::string error;
  auto env = parse_envelope(body, received, error);
  EXPECT_TRUE(env.has_value()) << error;
  EXPECT_TRUE(error.empty()) << error;
  return env ? *env : envelope{};
}

/// The 400 message for `body`, failing the test when it parses.
std::string parse_error(std::string_view body) {
  std::string error;
  auto env = parse_envelope(body, received, error);
  EXPECT_FALSE(env.has_value()) << "accepted: " << body.substr(0, 200);
  EXPECT_FALSE(error.empty());
  return error;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// One parsed fixture that must hold exactly one usable event.
event_record fixture_event(const std::string& name) {
  auto env = parse_ok(test::registry_fixture(name));
  EXPECT_EQ(env.events.size(), 1u) << name;
  EXPECT_EQ(env.ignored, 0u) << name;
  return env.events.empty() ? event_record{} : env.events.front();
}

/// A fixture's first event as JSON, to build variants from.
json fixture_event_json(const std::string& name) {
  return json::parse(test::registry_fixture(name))["events"][0];
}

std::string wrap(const std::vector<json>& events) {
  return json{{"events", events}}.dump();
}

// --- the real payloads -----------------------------------------------------

TEST(envelope, every_captured_fixture_parses_to_one_event) {
  for (const auto& name : fixture_names()) {
    auto e = fixture_event(name);
    auto expected = fixture_event_json(name);
    EXPECT_EQ(e.id, expected["id"].get<std::string>()) << name;
    EXPECT_EQ(e.action, expected["action"].get<std::string>()) << name;
    EXPECT_EQ(e.repository, expected["target"]["repository"].get<std::string>())
        << name;
    EXPECT_EQ(e.received, received) << name;
    EXPECT_NE(e.time, received) << name << ": timestamp not parsed";
    EXPECT_EQ(e.source_addr, "vm:5055") << name;
    EXPECT_TRUE(e.actor.empty()) << name;
    EXPECT_EQ(json::parse(e.raw), expected) << name;
  }
}

/// A one-event fixture's event object exactly as the registry wrote it.
std::string fixture_event_text(const std::string& name) {
  return test::sole_event_text(test::registry_fixture(name));
}

/// `body` with `pad` after every `{`, `[`, `,` and `:` and before every `}`
/// and `]` outside strings: the same JSON, spaced as no sender spaces it.
std::string respaced(const std::string& body, const std::string& pad) {
  std::string out;
  bool in_string = false;
  bool escaped = false;
  for (char c : body) {
    if (in_string) {
      out += c;
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '}' || c == ']')
      out += pad;
    out += c;
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[' || c == ',' || c == ':')
      out += pad;
  }
  return out;
}

TEST(envelope, raw_is_the_original_text_of_each_fixture_event) {
  for (const auto& name : fixture_names()) {
    auto body = test::registry_fixture(name);
    auto e = fixture_event(name);
    // Byte for byte, the registry's indentation included: not a re-dump.
    EXPECT_EQ(e.raw, fixture_event_text(name)) << name;
    EXPECT_NE(body.find(e.raw), std::string::npos) << name;
    EXPECT_EQ(json::parse(e.raw), fixture_event_json(name)) << name;
  }
}

TEST(envelope, raw_keeps_whatever_whitespace_the_sender_used) {
  ASSERT_GE(fixture_names().size(), 17u);
  for (const auto& name : fixture_names()) {
    auto body = test::registry_fixture(name);
    auto tabs = body;
    for (size_t at = 0; (at = tabs.find("   ", at)) != std::string::npos;)
      tabs.replace(at, 3, "\t");
    auto crlf = body;
    for (size_t at = 0; (at = crlf.find('\n', at)) != std::string::npos;
         at += 2)
      crlf.replace(at, 1, "\r\n");
    auto expected = fixture_event_json(name);
    for (const auto& variant :
         {tabs, crlf, json::parse(body).dump(), json::parse(body).dump(8),
          respaced(body, " "), respaced(body, "\r\n\t "),
          respaced(json::parse(body).dump(), "\n")}) {
      auto env = parse_ok(variant);
      ASSERT_EQ(env.events.size(), 1u) << name;
      EXPECT_EQ(env.events[0].raw, test::sole_event_text(variant))
          << name << ":\n"
          << variant;
      EXPECT_EQ(json::parse(env.events[0].raw), expected) << name;
    }
  }
}

TEST(envelope, raw_slices_of_many_original_events_in_one_body) {
  // Each fixture's event text as sent, joined with assorted whitespace and
  // unusable elements in between, so that every slice has to be found at
  // its own offset.
  std::string body = "\xEF\xBB\xBF {\"version\":2, \"events\" :[";
  std::vector<std::string> texts;
  const std::pair<const char*, uint32_t> separators[] = {
      {",", 0},     {" ,\n", 0},    {"\t,\r\n  ", 0},
      {", 7, ", 1}, {",\"x\",", 1}, {",null , [ {\"id\":\"n\"} ] ,", 2},
  };
  uint32_t unusable = 0;
  size_t i = 0;
  for (const auto& name : fixture_names()) {
    if (!texts.empty()) {
      const auto& [text, elements] = separators[i++ % std::size(separators)];
      body += text;
      unusable += elements;
    }
    texts.push_back(fixture_event_text(name));
    body += texts.back();
  }
  body += "\n]\n}\n";
  auto env = parse_ok(body);
  ASSERT_EQ(env.events.size(), texts.size());
  for (size_t j = 0; j < texts.size(); ++j) {
    EXPECT_EQ(env.events[j].raw, texts[j]) << fixture_names()[j];
    EXPECT_EQ(json::parse(env.events[j].raw),
              fixture_event_json(fixture_names()[j]));
  }
  EXPECT_EQ(env.ignored, unusable);
}

TEST(envelope, raw_survives_strings_escapes_nesting_and_unicode) {
  // Braces, brackets and quotes inside strings, escapes of every kind, a
  // surrogate pair, raw multi-byte UTF-8, nested objects and arrays, and
  // every kind of value (a number above all, which nlohmann ends by reading
  // one byte ahead) right before a closing brace.
  const std::string first
      = R"({"id":"e1","action":"push","target":{"repository":"a/b",)"
        R"("tag":"}{][\"}\\","size":12},"x":{"y":[{"z":"}"},{}],"w":{}},)"
        R"("request":{"useragent":"caf\u00e9 \ud83d\ude00 ü 日本 }"},)"
        R"("n":-1.5e3})";
  const std::string second
      = R"({ "id" : "e2" , "action" : "pull" , "target" : )"
        R"({ "repository" : "c/d" , "size" : 9 } , "t" : true })";
  const std::string third = R"({"action":"delete","id":"e3","target":)"
                            R"({"repository":"e/f","tag":"\\"},"z":null})";
  const std::string unusable = R"({"id":"u","action":"push","target":{}})";
  std::string body = R"({"a":{"events":5},"events":[)" + first + ",0,"
                     + unusable + "," + second + "  ,\n" + third
                     + R"(],"b":[{"}":"{"}]})";
  auto env = parse_ok(body);
  ASSERT_EQ(env.events.size(), 3u);
  EXPECT_EQ(env.ignored, 2u);
  EXPECT_EQ(env.events[0].raw, first);
  EXPECT_EQ(env.events[1].raw, second);
  EXPECT_EQ(env.events[2].raw, third);
  EXPECT_EQ(env.events[0].tag, "}{][\"}\\");
  EXPECT_EQ(env.events[0].size, 12);
  EXPECT_EQ(env.events[0].user_agent,
            "caf\xC3\xA9 \xF0\x9F\x98\x80 \xC3\xBC \xE6\x97\xA5\xE6\x9C\xAC }");
  EXPECT_EQ(env.events[1].size, 9);
  EXPECT_EQ(env.events[2].tag, "\\");
}

TEST(envelope, repeated_keys_count_as_their_last_occurrence) {
  // As in a DOM, where a repeated key overwrites the earlier one.
  auto ev = [](const std::string& fields) {
    return R"({"id":"x","action":"pull","target":{"repository":"r"})"
           + (fields.empty() ? "" : "," + fields) + "}";
  };
  auto env = parse_ok(
      "{\"events\":[" + ev(R"("id":"y","target":{"repository":"s"})") + ","
      + ev(R"("target":{"repository":"s","tag":"t"},)"
           R"("target":{"repository":"u"})")
      + "," + ev(R"("target":"r")") + "," + ev(R"("id":7)") + ","
      + ev(R"("request":{"method":"GET"},"request":{})") + "]}");
  ASSERT_EQ(env.events.size(), 3u);
  EXPECT_EQ(env.events[0].id, "y");
  EXPECT_EQ(env.events[0].repository, "s");
  EXPECT_EQ(env.events[1].repository, "u");
  EXPECT_TRUE(env.events[1].tag.empty());
  EXPECT_TRUE(env.events[2].method.empty());
  EXPECT_EQ(env.ignored, 2u);
  // Only the last "events" counts, whatever came before it.
  auto second = parse_ok("{\"events\":[" + ev("") + ",1],\"events\":[]}");
  EXPECT_TRUE(second.events.empty());
  EXPECT_EQ(second.ignored, 0u);
  EXPECT_TRUE(
      contains(parse_error("{\"events\":[" + ev("") + "],\"events\":1}"),
               "\"events\" must be an array"));
}

TEST(envelope, oci_manifest_push_by_tag) {
  auto e = fixture_event("03-push-manifest-oci-tag.json");
  EXPECT_EQ(e.id, "a2c3ad3b-d961-46f9-a0d8-7988ad6c1e30");
  EXPECT_EQ(e.action, "push");
  EXPECT_EQ(e.repository, "library/hello");
  EXPECT_EQ(e.tag, "1.0");
  EXPECT_EQ(e.digest, "sha256:ac336651fca2240140126c56a6ec25b80d273dfabef8f"
                      "755a856dc5db47ac41e");
  EXPECT_EQ(e.media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(e.size, 401);
  EXPECT_EQ(e.method, "PUT");
  EXPECT_EQ(e.user_agent, "skopeo/1.9.3");
  EXPECT_EQ(e.client_addr, "127.0.0.1:37844");
  EXPECT_EQ(e.source_addr, "vm:5055");
  // 2026-11-27T23:01:07.134855237Z: nanoseconds truncated to microseconds.
  EXPECT_EQ(e.time, t_230107 + 134'855);
  EXPECT_EQ(e.received, received);
  // `actor: {}` is anonymous.
  EXPECT_TRUE(e.actor.empty());
}

TEST(envelope, blob_push_keeps_octet_stream_for_the_filter) {
  auto e = fixture_event("01-push-blob-layer.json");
  EXPECT_EQ(e.action, "push");
  EXPECT_EQ(e.media_type, "application/octet-stream");
  EXPECT_EQ(e.size, 135);
  EXPECT_TRUE(e.tag.empty());
  EXPECT_EQ(e.time, t_230107 + 112'583);
}

TEST(envelope, pull_by_tag) {
  auto e = fixture_event("04-pull-manifest-by-tag.json");
  EXPECT_EQ(e.action, "pull");
  EXPECT_EQ(e.tag, "1.0");
  EXPECT_EQ(e.method, "GET");
  EXPECT_EQ(e.client_addr, "127.0.0.1:48028");
  EXPECT_EQ(e.time, 1'795'820'475'349'837);
}

TEST(envelope, pull_by_digest_has_no_tag) {
  auto e = fixture_event("10-pull-manifest-by-digest-no-tag.json");
  EXPECT_EQ(e.action, "pull");
  EXPECT_TRUE(e.tag.empty());
  EXPECT_EQ(e.digest, "sha256:ac336651fca2240140126c56a6ec25b80d273dfabef8f"
                      "755a856dc5db47ac41e");
  EXPECT_EQ(e.time, 1'795'820'480'025'091);
}

TEST(envelope, head_pull_keeps_the_method) {
  auto e = fixture_event("13-pull-event-from-HEAD-manifest.json");
  EXPECT_EQ(e.action, "pull");
  EXPECT_EQ(e.method, "HEAD");
  EXPECT_EQ(e.user_agent, "curl/7.88.1");
}

TEST(envelope, docker_schema2_push) {
  auto e = fixture_event("22-push-manifest-docker-v2s2.json");
  EXPECT_EQ(e.media_type,
            "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_EQ(e.tag, "1.0-v2s2");
  EXPECT_EQ(e.size, 423);
}

TEST(envelope, mount_is_parsed_for_the_filter_to_drop) {
  auto e = fixture_event("25-mount-cross-repo.json");
  EXPECT_EQ(e.action, "mount");
  EXPECT_EQ(e.repository, "library/other");
}

TEST(envelope, deletes_carry_only_digest_or_tag) {
  auto by_digest = fixture_event("30-delete-manifest-by-digest.json");
  EXPECT_EQ(by_digest.action, "delete");
  EXPECT_EQ(by_digest.repository, "library/other");
  EXPECT_FALSE(by_digest.digest.empty());
  EXPECT_TRUE(by_digest.tag.empty());
  EXPECT_TRUE(by_digest.media_type.empty());
  EXPECT_EQ(by_digest.size, 0);
  EXPECT_EQ(by_digest.method, "DELETE");
  auto by_tag = fixture_event("31-delete-tag-event.json");
  EXPECT_EQ(by_tag.action, "delete");
  EXPECT_EQ(by_tag.tag, "1.0");
  EXPECT_TRUE(by_tag.digest.empty());
  EXPECT_TRUE(by_tag.media_type.empty());
}

TEST(envelope, retried_body_keeps_its_event_id) {
  auto a = fixture_event("retry-duplicate-same-event-id.json");
  auto b = fixture_event("retry-duplicate-same-event-id.json");
  EXPECT_EQ(a.id, "4fb90b61-0c73-49ae-a51a-e238ee5e683f");
  EXPECT_EQ(a.id, b.id);
}

TEST(envelope, named_actor_is_read) {
  auto ev = fixture_event_json("04-pull-manifest-by-tag.json");
  ev["actor"] = {{"name", "alice"}};
  auto env = parse_ok(wrap({ev}));
  ASSERT_EQ(env.events.size(), 1u);
  EXPECT_EQ(env.events[0].actor, "alice");
}

TEST(envelope, many_events_in_one_body_keep_their_order) {
  std::vector<json> events;
  for (const auto& name : fixture_names())
    events.push_back(fixture_event_json(name));
  auto env = parse_ok(wrap(events));
  ASSERT_EQ(env.events.size(), events.size());
  EXPECT_EQ(env.ignored, 0u);
  for (size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ(env.events[i].id, events[i]["id"].get<std::string>());
}

TEST(envelope, empty_event_list_is_valid) {
  auto env = parse_ok("{\"events\":[]}");
  EXPECT_TRUE(env.events.empty());
  EXPECT_EQ(env.ignored, 0u);
}

TEST(envelope, unknown_fields_are_tolerated) {
  auto ev = fixture_event_json("03-push-manifest-oci-tag.json");
  ev["future"] = {{"nested", {1, 2, 3}}};
  ev["target"]["annotations"] = {{"a", "b"}};
  auto body = json{{"events", {ev}}, {"version", 2}}.dump();
  auto env = parse_ok(body);
  ASSERT_EQ(env.events.size(), 1u);
  EXPECT_EQ(env.events[0].tag, "1.0");
}

TEST(envelope, whitespace_around_the_body_is_allowed) {
  auto env = parse_ok("\r\n  {\"events\" : [ ] }\n");
  EXPECT_TRUE(env.events.empty());
}

// --- time ------------------------------------------------------------------

json with_timestamp(const json& timestamp) {
  auto ev = fixture_event_json("04-pull-manifest-by-tag.json");
  ev["timestamp"] = timestamp;
  return ev;
}

TEST(envelope, timestamp_with_offset_is_converted_to_utc) {
  auto env = parse_ok(wrap({with_timestamp("2026-11-28T01:01:07.5+02:00")}));
  ASSERT_EQ(env.events.size(), 1u);
  EXPECT_EQ(env.events[0].time, t_230107 + 500'000);
}

TEST(envelope, missing_or_bad_timestamp_falls_back_to_receive_time) {
  auto ev = fixture_event_json("04-pull-manifest-by-tag.json");
  ev.erase("timestamp");
  for (const auto& e : {ev, with_timestamp("yesterday"), with_timestamp(12345),
                        with_timestamp("2026-11-27T23:01:07"),
                        with_timestamp("2026-11-27T23:01:07.Z")}) {
    auto env = parse_ok(wrap({e}));
    ASSERT_EQ(env.events.size(), 1u) << e.dump();
    EXPECT_EQ(env.events[0].time, received) << e.dump();
  }
}

// --- malformed bodies ------------------------------------------------------

TEST(envelope, empty_body_is_rejected) {
  EXPECT_TRUE(contains(parse_error(""), "empty body"));
}

TEST(envelope, truncated_json_is_rejected) {
  auto body = test::registry_fixture("03-push-manifest-oci-tag.json");
  for (size_t cut : {size_t{1}, size_t{10}, body.size() / 2, body.size() - 3})
    EXPECT_TRUE(contains(parse_error(body.substr(0, cut)), "invalid JSON"))
        << cut;
}

TEST(envelope, trailing_garbage_is_rejected) {
  EXPECT_TRUE(
      contains(parse_error("{\"events\":[]} {\"events\":[]}"), "invalid JSON"));
}

TEST(envelope, events_of_the_wrong_type_are_rejected) {
  for (const char* body : {"{\"events\":{}}", "{\"events\":{\"id\":\"x\"}}",
                           "{\"events\":\"push\"}", "{\"events\":42}",
                           "{\"events\":null}", "{\"events\":true}"})
    EXPECT_TRUE(contains(parse_error(body), "\"events\" must be an array"))
        << body;
}

TEST(envelope, missing_events_is_rejected) {
  EXPECT_TRUE(contains(parse_error("{}"), "no \"events\""));
  EXPECT_TRUE(contains(parse_error("{\"event\":[]}"), "no \"events\""));
}

TEST(envelope, top_level_non_objects_are_rejected) {
  for (const char* body :
       {"[]", "[{\"events\":[]}]", "\"events\"", "42", "null"})
    EXPECT_TRUE(contains(parse_error(body), "must be a JSON object")) << body;
}

TEST(envelope, deep_nesting_fails_cleanly) {
  const size_t depth = 10'000;
  std::string arrays(depth, '[');
  arrays += std::string(depth, ']');
  EXPECT_TRUE(contains(parse_error(arrays), "nesting")) << parse_error(arrays);
  std::string inside = "{\"events\":" + arrays + "}";
  EXPECT_TRUE(contains(parse_error(inside), "nesting"));
  std::string objects;
  for (size_t i = 0; i < depth; ++i)
    objects += "{\"a\":";
  objects += "1" + std::string(depth, '}');
  EXPECT_TRUE(contains(parse_error(objects), "nesting"));
  // Unterminated nesting is refused just as early.
  EXPECT_TRUE(contains(parse_error(std::string(depth, '[')), "nesting"));
}

TEST(envelope, nesting_limit_is_exact) {
  // Envelope object, events array and event object are three levels.
  auto body_with = [](size_t extra) {
    auto ev = fixture_event_json("04-pull-manifest-by-tag.json").dump();
    ev.pop_back();
    ev += ",\"deep\":" + std::string(extra, '[') + std::string(extra, ']')
          + "}";
    return "{\"events\":[" + ev + "]}";
  };
  const size_t allowed = envelope_limits::max_depth - 3;
  auto env = parse_ok(body_with(allowed));
  EXPECT_EQ(env.events.size(), 1u);
  EXPECT_TRUE(contains(parse_error(body_with(allowed + 1)), "nesting"));
}

TEST(envelope, huge_string_field_parses) {
  auto ev = fixture_event_json("03-push-manifest-oci-tag.json");
  std::string tag(900 * 1024, 't');
  ev["target"]["tag"] = tag;
  auto env = parse_ok(wrap({ev}));
  ASSERT_EQ(env.events.size(), 1u);
  EXPECT_EQ(env.events[0].tag, tag);
}

TEST(envelope, invalid_utf8_is_rejected_without_throwing) {
  auto body = test::registry_fixture("04-pull-manifest-by-tag.json");
  auto pos = body.find("skopeo");
  ASSERT_NE(pos, std::string::npos);
  body[pos] = static_cast<char>(0xC3);
  body[pos + 1] = static_cast<char>(0x28);
  EXPECT_TRUE(contains(parse_error(body), "invalid JSON"));
}

TEST(envelope, lone_surrogate_escape_is_rejected_without_throwing) {
  auto body = test::registry_fixture("04-pull-manifest-by-tag.json");
  auto pos = body.find("skopeo");
  ASSERT_NE(pos, std::string::npos);
  body.replace(pos, 6, "\\ud800x");
  EXPECT_TRUE(contains(parse_error(body), "invalid JSON"));
}

TEST(envelope, binary_garbage_is_rejected) {
  std::string body("\x00\x01\x02{\"events\":[]}", 16);
  EXPECT_TRUE(contains(parse_error(body), "invalid JSON"));
}

// --- unusable events are counted, the rest kept ----------------------------

TEST(envelope, unusable_events_are_ignored_and_the_rest_kept) {
  auto good1 = fixture_event_json("03-push-manifest-oci-tag.json");
  auto good2 = fixture_event_json("31-delete-tag-event.json");
  auto no_id = good1;
  no_id.erase("id");
  auto empty_id = good1;
  empty_id["id"] = "";
  auto numeric_id = good1;
  numeric_id["id"] = 7;
  auto long_id = good1;
  long_id["id"] = std::string(envelope_limits::max_id + 1, 'i');
  auto unknown_action = good1;
  unknown_action["id"] = "u1";
  unknown_action["action"] = "rename";
  auto no_action = good1;
  no_action["id"] = "u2";
  no_action.erase("action");
  auto no_target = good1;
  no_target["id"] = "u3";
  no_target.erase("target");
  auto target_string = good1;
  target_string["id"] = "u4";
  target_string["target"] = "library/hello";
  auto no_repository = good1;
  no_repository["id"] = "u5";
  no_repository["target"].erase("repository");
  auto long_repository = good1;
  long_repository["id"] = "u6";
  long_repository["target"]["repository"]
      = std::string(envelope_limits::max_repository + 1, 'r');
  std::vector<json> events{good1,          no_id,         42,
                           empty_id,       "a string",    numeric_id,
                           nullptr,        long_id,       json::array(),
                           unknown_action, no_action,     no_target,
                           target_string,  no_repository, long_repository,
                           good2};
  auto env = parse_ok(wrap(events));
  ASSERT_EQ(env.events.size(), 2u);
  EXPECT_EQ(env.events[0].id, good1["id"].get<std::string>());
  EXPECT_EQ(env.events[1].id, good2["id"].get<std::string>());
  EXPECT_EQ(env.ignored, events.size() - 2);
}

TEST(envelope, longest_allowed_id_and_repository_are_kept) {
  auto ev = fixture_event_json("03-push-manifest-oci-tag.json");
  ev["id"] = std::string(envelope_limits::max_id, 'i');
  ev["target"]["repository"]
      = std::string(envelope_limits::max_repository, 'r');
  auto env = parse_ok(wrap({ev}));
  EXPECT_EQ(env.events.size(), 1u);
  EXPECT_EQ(env.ignored, 0u);
}

TEST(envelope, wrongly_typed_optional_fields_read_as_empty) {
  auto ev = fixture_event_json("03-push-manifest-oci-tag.json");
  ev["target"]["tag"] = 1;
  ev["target"]["size"] = "401";
  ev["target"]["mediaType"] = nullptr;
  ev["request"] = "GET";
  ev["actor"] = "bob";
  auto env = parse_ok(wrap({ev}));
  ASSERT_EQ(env.events.size(), 1u);
  const auto& e = env.events[0];
  EXPECT_TRUE(e.tag.empty());
  EXPECT_EQ(e.size, 0);
  EXPECT_TRUE(e.media_type.empty());
  EXPECT_TRUE(e.method.empty());
  EXPECT_TRUE(e.actor.empty());
}

// --- content types ---------------------------------------------------------

TEST(content_type, registry_types_are_accepted) {
  for (const char* type :
       {"application/vnd.docker.distribution.events.v1+json",
        "application/vnd.docker.distribution.events.v2+json",
        "application/json",
        "application/vnd.docker.distribution.events.v1+json; charset=utf-8",
        "application/json;charset=UTF-8", "application/json ; charset=utf-8",
        "Application/JSON",
        "APPLICATION/VND.DOCKER.DISTRIBUTION.EVENTS.V1+JSON",
        "  application/json  "})
    EXPECT_TRUE(is_notification_content_type(type)) << type;
}

TEST(content_type, other_types_are_rejected) {
  for (const char* type :
       {"", "text/plain", "text/plain; charset=utf-8", "application/xml",
        "application/jsonx",
        "application/vnd.docker.distribution.events.v3+json", "json",
        "application/", ";application/json",
        "application/x-www-form-urlencoded", "multipart/form-data"})
    EXPECT_FALSE(is_notification_content_type(type)) << type;
}

} // namespace
} // namespace regevent
