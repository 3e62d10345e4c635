// The Harbor v2.0 contract of the management API (issue 13): the real
// daemon, fed captured registry traffic (pushes of OCI and Docker schema 2
// manifests with tags, pulls by tag and by digest, a delete) in a nested
// repository and a plain one, and a project made through the API; then
// every field of every answer a Harbor client reads is held against
// Harbor's own schemas (tests/e2e/harbor_schema.hpp, written down from
// its swagger), the fields regevent promises are required, and the values
// that tie the answers together (ids, times, types) are compared.

#include "tests/e2e/api_helper.hpp"
#include "tests/e2e/harbor_schema.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/fixture_event.hpp"
#include "tests/test_secrets.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace regevent::test {
namespace {

using json = nlohmann::json;

const std::string admin = secrets::admin_token;
constexpr const char* oci_manifest
    = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* docker_manifest
    = "application/vnd.docker.distribution.manifest.v2+json";

/// The nested repository and the digests the traffic gives it.
const std::string nested = "proj/team/app";
const std::string tagged_oci = fake_digest(1);   // 1.0; pulled twice
const std::string never_pulled = fake_digest(2); // 2.0; Docker schema 2
const std::string deleted = fake_digest(3);      // old; deleted
const std::string plain_digest = fake_digest(4); // library/hello:1.0
const std::string proj_plain = fake_digest(5);   // proj/plain:latest

/// Every problem of `value` against `schema`, and the `required` fields it
/// lacks.
std::vector<std::string> problems_of(const std::string& schema,
                                     const json& value,
                                     const std::vector<std::string>& required) {
  auto problems = harbor::check_against(schema, value);
  for (auto& p : harbor::missing(schema, value, required))
    problems.push_back(std::move(p));
  return problems;
}

#define EXPECT_CONFORMS(schema, value, required)                               \
  do {                                                                         \
    auto problems_ = problems_of(schema, value, required);                     \
    EXPECT_TRUE(problems_.empty())                                             \
        << harbor::describe(problems_) << "in " << (value).dump(1);            \
  } while (false)

/// Every problem of an artifact and of each tag it carries.
std::vector<std::string> artifact_problems(const json& a) {
  auto problems = problems_of("Artifact", a, harbor::artifact_required);
  if (a.contains("tags") && a["tags"].is_array())
    for (const auto& t : a["tags"])
      for (auto& p : harbor::missing("Tag", t, harbor::tag_required))
        problems.push_back(std::move(p));
  return problems;
}

/// `key` of `j`, null when `j` is no object or lacks it (an answer the
/// test already failed), so that checks go on instead of throwing.
json field(const json& j, const std::string& key) {
  return j.is_object() && j.contains(key) ? j[key] : json(nullptr);
}

std::string double_encoded(const std::string& rest) {
  return encode_path_segment(encode_path_segment(rest));
}

class harbor_contract : public ::testing::Test {
protected:
  void SetUp() override {
    daemon_ = std::make_unique<daemon_process>(
        dir_, "auth:\n  admin_token: " + admin + "\n");
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    client_ = std::make_unique<http_client>(daemon_->client());
    feed();
  }

  http_answer call(const std::string& method, const std::string& target,
                   const std::string& body = {}) {
    return client_->request(method, target, body,
                            {{"Authorization", "Bearer " + admin},
                             {"Content-Type", "application/json"}});
  }

  /// The body of a GET that must answer 200 (null otherwise, with the
  /// failure recorded).
  json get(const std::string& target) {
    auto a = call("GET", target);
    EXPECT_EQ(a.status, 200u) << target << ": " << a.body;
    if (a.status != 200)
      return nullptr;
    auto body = json::parse(a.body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << target << ": " << a.body;
    return body.is_discarded() ? json(nullptr) : body;
  }

  /// A 404 (or other error) answer in Harbor's Errors shape with `code`.
  void expect_error(const std::string& target, unsigned status,
                    const std::string& code) {
    auto a = call("GET", target);
    EXPECT_EQ(a.status, status) << target << ": " << a.body;
    auto body = json::parse(a.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << target << ": " << a.body;
    EXPECT_CONFORMS("Errors", body, std::vector<std::string>{"errors"});
    ASSERT_TRUE(body["errors"].is_array() && !body["errors"].empty()) << body;
    EXPECT_CONFORMS("Error", body["errors"][0],
                    (std::vector<std::string>{"code", "message"}));
    EXPECT_EQ(body["errors"][0].value("code", ""), code) << body;
  }

  void notify(const fixture_event& e) {
    auto a = client_->notify(fixture_body(e));
    ASSERT_EQ(a.status, 200u) << e.fixture << ": " << a.body;
  }

  /// A project made through the API, then the traffic: in the nested
  /// repository a tagged OCI push, a Docker schema 2 push never pulled,
  /// a push later deleted (manifest and tag events), a pull by tag and
  /// one by digest; a plain repository in the default project and one in
  /// `proj`.
  void feed() {
    auto made
        = call("POST", "/api/v2.0/projects",
               json{{"project_name", "proj"},
                    {"metadata", {{"public", "true"}, {"auto_scan", "false"}}}}
                   .dump());
    ASSERT_EQ(made.status, 201u) << made.body;
    const std::string oci = "03-push-manifest-oci-tag.json";
    const std::string v2s2 = "22-push-manifest-docker-v2s2.json";
    const std::vector<fixture_event> events{
        make_fixture_event(oci, "c-1", nested, "1.0", tagged_oci,
                           "2026-03-01T10:00:00Z"),
        make_fixture_event(v2s2, "c-2", nested, "2.0", never_pulled,
                           "2026-03-01T10:01:00Z"),
        make_fixture_event(v2s2, "c-3", nested, "old", deleted,
                           "2026-03-01T10:02:00Z"),
        make_fixture_event("04-pull-manifest-by-tag.json", "c-4", nested, "1.0",
                           tagged_oci, "2026-03-01T10:03:00Z"),
        make_fixture_event("10-pull-manifest-by-digest-no-tag.json", "c-5",
                           nested, "", tagged_oci, "2026-03-01T10:04:00Z"),
        make_fixture_event("30-delete-manifest-by-digest.json", "c-6", nested,
                           "", deleted, "2026-03-01T10:05:00Z"),
        make_fixture_event("31-delete-tag-event.json", "c-7", nested, "old", "",
                           "2026-03-01T10:05:01Z"),
        make_fixture_event(oci, "c-8", "library/hello", "1.0", plain_digest,
                           "2026-03-01T10:06:00Z"),
        make_fixture_event(oci, "c-9", "proj/plain", "latest", proj_plain,
                           "2026-03-01T10:07:00Z"),
    };
    for (const auto& e : events)
      notify(e);
    ASSERT_TRUE(journal_drained(*daemon_)) << daemon_->log();
  }

  /// The project `name` from the list.
  json project(const std::string& name) {
    auto list = get("/api/v2.0/projects?page_size=100");
    if (list.is_array())
      for (const auto& p : list)
        if (p.value("name", "") == name)
          return p;
    ADD_FAILURE() << "no project " << name << " in " << list.dump(1);
    return nullptr;
  }

  json nested_repository() {
    return get("/api/v2.0/projects/proj/repositories/"
               + double_encoded("team/app"));
  }

  std::string artifacts_path() {
    return "/api/v2.0/projects/proj/repositories/" + double_encoded("team/app")
           + "/artifacts";
  }

  temp_dir dir_;
  std::unique_ptr<daemon_process> daemon_;
  std::unique_ptr<http_client> client_;
};

TEST_F(harbor_contract, projects_have_every_harbor_field) {
  auto list = get("/api/v2.0/projects?page_size=100");
  ASSERT_TRUE(list.is_array()) << list;
  std::set<std::string> names;
  for (const auto& p : list) {
    EXPECT_CONFORMS("Project", p, harbor::project_required);
    names.insert(p.value("name", ""));
  }
  EXPECT_TRUE(names.count("proj") == 1 && names.count("library") == 1)
      << list.dump(1);

  auto proj = project("proj");
  ASSERT_TRUE(proj.is_object());
  EXPECT_EQ(proj["metadata"]["public"], "true") << proj;
  EXPECT_EQ(proj["metadata"]["auto_scan"], "false") << proj;
  EXPECT_EQ(proj["deleted"], false) << proj;
  // An empty allowlist where there is none.
  ASSERT_TRUE(proj["cve_allowlist"].is_object()) << proj;
  EXPECT_EQ(proj["cve_allowlist"].value("items", json::array()), json::array())
      << proj;
  EXPECT_EQ(proj["repo_count"], 2) << "team/app and plain: " << proj;
  EXPECT_EQ(project("library")["repo_count"], 1);

  // By name, and by id (all digits: an id).
  auto by_name = get("/api/v2.0/projects/proj");
  EXPECT_CONFORMS("Project", by_name, harbor::project_required);
  EXPECT_EQ(field(by_name, "project_id"), proj["project_id"]) << by_name;
  auto id = std::to_string(proj.value("project_id", -1));
  auto by_id = get("/api/v2.0/projects/" + id);
  EXPECT_CONFORMS("Project", by_id, harbor::project_required);
  EXPECT_EQ(field(by_id, "name"), "proj") << by_id;

  expect_error("/api/v2.0/projects/no-such-project", 404, "NOT_FOUND");
}

TEST_F(harbor_contract, repositories_have_every_harbor_field_and_ids_agree) {
  auto proj = project("proj");
  ASSERT_TRUE(proj.is_object());
  auto list = get("/api/v2.0/projects/proj/repositories?page_size=100");
  ASSERT_TRUE(list.is_array()) << list;
  std::set<std::string> names;
  for (auto r : list) {
    EXPECT_CONFORMS("Repository", r, harbor::repository_required);
    EXPECT_EQ(r["project_id"], proj["project_id"]) << r;
    names.insert(r.value("name", ""));
  }
  EXPECT_EQ(names, (std::set<std::string>{"proj/plain", nested}));

  auto twice = nested_repository();
  EXPECT_CONFORMS("Repository", twice, harbor::repository_required);
  EXPECT_EQ(twice["name"], nested) << twice;
  EXPECT_EQ(twice["project_id"], proj["project_id"]) << twice;
  EXPECT_EQ(twice["artifact_count"], 2) << "the deleted one gone: " << twice;
  EXPECT_EQ(twice["pull_count"], 2) << "by tag and by digest: " << twice;
  EXPECT_EQ(twice["description"], "") << twice;
  EXPECT_EQ(twice["creation_time"], "2026-03-01T10:00:00.000Z") << twice;
  // Once-encoded names the same repository.
  auto once = get("/api/v2.0/projects/proj/repositories/"
                  + encode_path_segment("team/app"));
  EXPECT_CONFORMS("Repository", once, harbor::repository_required);
  EXPECT_EQ(field(once, "id"), field(twice, "id")) << once;
  EXPECT_TRUE(field(once, "id").is_number_integer()) << once;
  auto plain = get("/api/v2.0/projects/proj/repositories/plain");
  EXPECT_CONFORMS("Repository", plain, harbor::repository_required);
  EXPECT_EQ(plain["name"], "proj/plain") << plain;

  auto all = get("/api/v2.0/repositories?page_size=100");
  ASSERT_TRUE(all.is_array()) << all;
  std::set<std::string> everywhere;
  for (const auto& r : all) {
    EXPECT_CONFORMS("Repository", r, harbor::repository_required);
    everywhere.insert(r.value("name", ""));
  }
  EXPECT_EQ(everywhere,
            (std::set<std::string>{"library/hello", "proj/plain", nested}));
}

TEST_F(harbor_contract, artifacts_and_tags_have_every_harbor_field) {
  auto proj = project("proj");
  auto repo = nested_repository();
  ASSERT_TRUE(proj.is_object() && repo.is_object());
  auto list = get(artifacts_path() + "?with_label=true&page_size=100");
  ASSERT_TRUE(list.is_array()) << list;
  ASSERT_EQ(list.size(), 2u) << list.dump(1);
  // Newest push first.
  EXPECT_EQ(list[0]["digest"], never_pulled);
  EXPECT_EQ(list[1]["digest"], tagged_oci);
  std::set<long long> ids;
  for (auto a : list) {
    SCOPED_TRACE(a.value("digest", ""));
    auto problems = artifact_problems(a);
    EXPECT_TRUE(problems.empty())
        << harbor::describe(problems) << "in " << a.dump(1);
    ids.insert(a.value("id", -1LL));
    EXPECT_EQ(a["type"], "IMAGE") << a;
    EXPECT_EQ(a["project_id"], proj["project_id"]) << a;
    EXPECT_EQ(a["repository_id"], repo["id"]) << a;
    EXPECT_EQ(a["repository_name"], nested) << a;
    EXPECT_EQ(a["labels"], json::array()) << a;
    // No source registry: nothing read from the manifest.
    EXPECT_EQ(a["extra_attrs"], json::object()) << a;
    EXPECT_EQ(a["annotations"], json::object()) << a;
    EXPECT_EQ(a["references"], json::array()) << a;
    EXPECT_FALSE(a.contains("scan_overview"))
        << "only with with_scan_overview=true: " << a;
    EXPECT_EQ(a["addition_links"]["vulnerabilities"],
              (json{{"href", "/api/v2.0/projects/proj/repositories/"
                             "team%252Fapp/artifacts/"
                                 + a.value("digest", "")
                                 + "/additions/vulnerabilities"},
                    {"absolute", false}}))
        << a;
    ASSERT_TRUE(a["tags"].is_array() && a["tags"].size() == 1) << a;
    auto t = a["tags"][0];
    EXPECT_EQ(t["artifact_id"], a["id"]) << a;
    EXPECT_EQ(t["repository_id"], repo["id"]) << a;
    EXPECT_EQ(t["immutable"], false) << a;
  }
  EXPECT_EQ(ids.size(), 2u) << "distinct ids: " << list.dump(1);

  auto fresh = list[0];
  EXPECT_EQ(fresh["manifest_media_type"], docker_manifest) << fresh;
  // Harbor's media_type is the image config's, which Docker schema 2 fixes.
  EXPECT_EQ(fresh["media_type"],
            "application/vnd.docker.container.image.v1+json")
      << fresh;
  EXPECT_EQ(fresh["push_time"], "2026-03-01T10:01:00.000Z") << fresh;
  EXPECT_EQ(fresh["pull_time"], harbor::zero_time) << fresh;
  EXPECT_EQ(fresh["tags"][0]["name"], "2.0") << fresh;
  EXPECT_EQ(fresh["tags"][0]["pull_time"], harbor::zero_time) << fresh;
  auto pulled = list[1];
  EXPECT_EQ(pulled["manifest_media_type"], oci_manifest) << pulled;
  EXPECT_EQ(pulled["media_type"], oci_manifest) << pulled;
  EXPECT_EQ(pulled["size"], 401) << pulled;
  EXPECT_EQ(pulled["push_time"], "2026-03-01T10:00:00.000Z") << pulled;
  EXPECT_EQ(pulled["pull_time"], "2026-03-01T10:04:00.000Z")
      << "the pull by digest is the artifact's latest: " << pulled;
  EXPECT_EQ(pulled["tags"][0]["name"], "1.0") << pulled;
  EXPECT_EQ(pulled["tags"][0]["pull_time"], "2026-03-01T10:03:00.000Z")
      << "the pull by tag is the tag's latest: " << pulled;

  // One artifact by digest and by tag: the same record.
  for (const auto& reference : {tagged_oci, std::string("1.0")}) {
    SCOPED_TRACE(reference);
    auto one = get(artifacts_path() + "/" + reference + "?with_label=true");
    auto problems = artifact_problems(one);
    EXPECT_TRUE(problems.empty())
        << harbor::describe(problems) << "in " << one.dump(1);
    EXPECT_EQ(field(one, "id"), pulled["id"]) << one;
    EXPECT_TRUE(pulled["id"].is_number_integer()) << pulled;
    EXPECT_EQ(one["digest"], tagged_oci) << one;
    EXPECT_EQ(one["repository_id"], repo["id"]) << one;
  }
  // Its tags.
  auto tags = get(artifacts_path() + "/" + tagged_oci + "/tags");
  ASSERT_TRUE(tags.is_array() && tags.size() == 1) << tags;
  EXPECT_CONFORMS("Tag", tags[0], harbor::tag_required);
  EXPECT_EQ(tags[0]["name"], "1.0");
  EXPECT_EQ(tags[0]["artifact_id"], pulled["id"]);
  EXPECT_EQ(tags[0]["repository_id"], repo["id"]);
  EXPECT_EQ(tags[0]["id"], pulled["tags"][0]["id"]);

  // with_tag=false: no tags (absent or empty, either is Harbor's).
  auto untagged = get(artifacts_path() + "?with_tag=false");
  ASSERT_TRUE(untagged.is_array() && !untagged.empty()) << untagged;
  for (const auto& a : untagged) {
    EXPECT_TRUE(harbor::check_against("Artifact", a).empty()) << a;
    EXPECT_TRUE(!a.contains("tags") || a["tags"].empty()) << a;
  }

  // The deleted artifact is gone, answered in Harbor's error shape.
  expect_error(artifacts_path() + "/" + deleted, 404, "NOT_FOUND");
  expect_error(artifacts_path() + "/old", 404, "NOT_FOUND");

  // The plain repository of the default project.
  auto hello = get("/api/v2.0/projects/library/repositories/hello/artifacts"
                   "?with_label=true");
  ASSERT_TRUE(hello.is_array() && hello.size() == 1) << hello;
  auto problems = artifact_problems(hello[0]);
  EXPECT_TRUE(problems.empty()) << harbor::describe(problems);
  EXPECT_EQ(hello[0]["project_id"], project("library")["project_id"]);
  EXPECT_EQ(hello[0]["repository_name"], "library/hello");
  EXPECT_EQ(hello[0]["addition_links"]["vulnerabilities"]["href"],
            "/api/v2.0/projects/library/repositories/hello/artifacts/"
                + plain_digest + "/additions/vulnerabilities");
}

TEST_F(harbor_contract, audit_logs_are_harbor_audit_logs) {
  auto list = get("/api/v2.0/audit-logs?page_size=100");
  ASSERT_TRUE(list.is_array()) << list;
  std::set<std::string> seen;
  std::string previous;
  for (const auto& row : list) {
    // Exactly Harbor's fields: check_against names any other (event_id).
    EXPECT_CONFORMS("AuditLog", row, harbor::audit_log_required);
    seen.insert(row.value("operation", "") + " "
                + row.value("resource_type", "") + " "
                + row.value("resource", ""));
    auto at = row.value("op_time", "");
    if (!previous.empty()) {
      EXPECT_LE(at, previous) << "newest first: " << list.dump(1);
    }
    previous = at;
  }
  for (const std::string& expected : std::vector<std::string>{
           "create artifact proj/team/app:1.0",
           "create artifact proj/team/app:2.0",
           "create artifact proj/team/app:old",
           "pull artifact proj/team/app:1.0",
           "pull artifact proj/team/app@" + tagged_oci,
           "delete artifact proj/team/app@" + deleted,
           "delete artifact proj/team/app:old",
           "create artifact library/hello:1.0", "create project proj"})
    EXPECT_EQ(seen.count(expected), 1u) << expected << " in " << list.dump(1);

  // The event id only where asked for, with regevent's own parameter.
  auto with_ids = get("/api/v2.0/audit-logs?page_size=100&with_event_id=true");
  ASSERT_TRUE(with_ids.is_array()) << with_ids;
  std::set<std::string> event_ids;
  for (const auto& row : with_ids)
    if (row.value("resource_type", "") == "artifact")
      event_ids.insert(row.value("event_id", ""));
  EXPECT_EQ(event_ids, (std::set<std::string>{"c-1", "c-2", "c-3", "c-4", "c-5",
                                              "c-6", "c-7", "c-8", "c-9"}))
      << with_ids.dump(1);

  // A project's own log: its rows only.
  auto proj_logs = get("/api/v2.0/projects/proj/logs?page_size=100");
  ASSERT_TRUE(proj_logs.is_array()) << proj_logs;
  size_t pulls = 0;
  for (const auto& row : proj_logs) {
    EXPECT_CONFORMS("AuditLog", row, harbor::audit_log_required);
    auto resource = row.value("resource", "");
    EXPECT_TRUE(resource == "proj" || resource.rfind("proj/", 0) == 0) << row;
    pulls += row.value("operation", "") == "pull" ? 1 : 0;
  }
  EXPECT_EQ(pulls, 2u) << proj_logs.dump(1);
}

TEST_F(harbor_contract, systeminfo_and_health_answer_anonymously) {
  auto info = client_->request("GET", "/api/v2.0/systeminfo");
  ASSERT_EQ(info.status, 200u) << info.body;
  auto general = json::parse(info.body, nullptr, false);
  ASSERT_TRUE(general.is_object()) << info.body;
  EXPECT_CONFORMS("GeneralInfo", general, std::vector<std::string>{});

  auto health = client_->request("GET", "/api/v2.0/health");
  ASSERT_EQ(health.status, 200u) << health.body;
  auto overall = json::parse(health.body, nullptr, false);
  EXPECT_CONFORMS("OverallHealthStatus", overall,
                  (std::vector<std::string>{"status", "components"}));
  EXPECT_EQ(field(overall, "status"), "healthy") << health.body;
  ASSERT_TRUE(overall["components"].is_array()
              && !overall["components"].empty())
      << health.body;
  for (const auto& c : overall["components"]) {
    EXPECT_CONFORMS("ComponentHealthStatus", c,
                    (std::vector<std::string>{"name", "status"}));
    EXPECT_EQ(c.value("status", ""), "healthy") << c;
  }
}

// The checker itself: each kind of mismatch is found, so that a clean
// answer above means something.
TEST(harbor_schema, the_checker_finds_every_kind_of_mismatch) {
  EXPECT_TRUE(harbor::check_against(
                  "Tag", json{{"id", 1},
                              {"repository_id", 2},
                              {"artifact_id", 3},
                              {"name", "1.0"},
                              {"push_time", "2026-03-01T10:00:00.123Z"},
                              {"pull_time", harbor::zero_time},
                              {"immutable", false}})
                  .empty());
  EXPECT_TRUE(harbor::check_against(
                  "AuditLog", json{{"op_time", "2026-03-01T10:00:00+02:00"}})
                  .empty());
  auto one = [](const char* schema, const json& value) {
    return harbor::check_against(schema, value).size();
  };
  EXPECT_EQ(one("AuditLog", json{{"event_id", "x"}}), 1u) << "unknown field";
  EXPECT_EQ(one("Tag", json{{"id", "1"}}), 1u) << "string for integer";
  EXPECT_EQ(one("Tag", json{{"id", 1.5}}), 1u) << "number for integer";
  EXPECT_EQ(one("Tag", json{{"immutable", 0}}), 1u) << "integer for boolean";
  EXPECT_EQ(one("Tag", json{{"pull_time", nullptr}}), 1u) << "null time";
  EXPECT_EQ(one("Tag", json{{"pull_time", "2026-03-01 10:00:00"}}), 1u);
  EXPECT_EQ(one("Tag", json{{"pull_time", "2026-03-01T10:00:00"}}), 1u)
      << "no offset";
  EXPECT_EQ(one("Tag", json{{"pull_time", "2026-02-30T10:00:00Z"}}), 1u);
  EXPECT_EQ(one("Project", json{{"project_id", 2147483648LL}}), 1u) << "int32";
  EXPECT_EQ(one("Project", json{{"project_id", 2147483647LL}}), 0u);
  EXPECT_EQ(one("Project", json{{"current_user_role_ids", {1, "2"}}}), 1u);
  EXPECT_EQ(one("Project", json{{"metadata", {{"public", true}}}}), 1u)
      << "metadata values are strings";
  EXPECT_EQ(one("Project", json{{"metadata", {{"colour", "red"}}}}), 1u);
  EXPECT_EQ(one("Project", json{{"cve_allowlist", {{"items", {{{"x", 1}}}}}}}),
            1u)
      << "$ref inside an array";
  EXPECT_EQ(one("Artifact",
                json{{"references", {{{"platform", {{"arch", "amd64"}}}}}}}),
            1u)
      << "$ref inside a $ref inside an array";
  EXPECT_EQ(one("Artifact",
                json{{"addition_links", {{"vulnerabilities", {{"href", 1}}}}}}),
            1u)
      << "map of AdditionLink";
  EXPECT_EQ(one("Artifact", json{{"extra_attrs", {{"any", {{"thing", 1}}}}},
                                 {"annotations", json::object()}}),
            0u)
      << "free-form";
  EXPECT_EQ(one("Artifact", json{{"tags", json::object()}}), 1u);
  EXPECT_EQ(
      harbor::missing("AuditLog", json{{"id", 1}}, harbor::audit_log_required)
          .size(),
      5u);
  EXPECT_EQ(harbor::missing("AuditLog", json::object(), {"event_id"}).size(),
            2u)
      << "not in the schema, and absent";
}

} // namespace
} // namespace regevent::test
