#include "persistence/artifact_details_store.hpp"

#include "persistence/database.hpp"
#include "tests/persistence/store_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include <string>
#include <vector>

namespace regevent {
namespace {

const std::string oci = "application/vnd.oci.image.manifest.v1+json";

/// An artifact row as the artifacts effect leaves it: alive since `alive`,
/// deleted at `deleted`.
void artifact(test::store_fixture& f, const std::string& repository,
              const std::string& digest, long long alive = 10,
              long long deleted = 0) {
  f.sql() << "INSERT INTO artifacts (repository, digest, media_type, size, "
             "push_time, alive_at, deleted_at) VALUES (:r, :d, :m, 100, :p, "
             ":a, :x)",
      soci::use(repository), soci::use(digest), soci::use(oci),
      soci::use(alive), soci::use(alive), soci::use(deleted);
}

std::vector<std::string> due(test::store_fixture& f, timestamp_us now,
                             size_t limit = 10, uint32_t cap = 3) {
  artifact_details_store s(f.db());
  std::vector<std::string> out;
  for (const auto& j : s.due(now, limit, cap))
    out.push_back(j.repository + "@" + j.digest + "#"
                  + std::to_string(j.attempts));
  return out;
}

artifact_details_record done(const std::string& repository,
                             const std::string& digest) {
  artifact_details_record r;
  r.repository = repository;
  r.digest = digest;
  r.config_media_type = "application/vnd.oci.image.config.v1+json";
  r.artifact_type = r.config_media_type;
  r.extra_attrs = R"({"architecture":"amd64","os":"linux"})";
  r.annotations = R"({"a":"b"})";
  r.size = 1234;
  return r;
}

artifact_details_record
failure(const std::string& repository, const std::string& digest,
        artifact_details_outcome o, timestamp_us next, std::string error) {
  artifact_details_record r;
  r.repository = repository;
  r.digest = digest;
  r.outcome = o;
  r.next_attempt_at = next;
  r.error = std::move(error);
  return r;
}

void record(test::store_fixture& f,
            const std::vector<artifact_details_record>& rs,
            timestamp_us now = 500) {
  artifact_details_store s(f.db());
  s.record(rs, now);
}

TEST(artifact_details_store,
     live_artifacts_without_details_are_due_newest_first) {
  test::store_fixture f;
  artifact(f, "team/app", "sha256:a");
  artifact(f, "team/app", "sha256:b");
  // Deleted after it was last alive: not read.
  artifact(f, "team/app", "sha256:gone", 10, 20);
  // Alive again after a delete: read.
  artifact(f, "team/app", "sha256:back", 30, 20);
  EXPECT_EQ(due(f, 1000), (std::vector<std::string>{"team/app@sha256:back#0",
                                                    "team/app@sha256:b#0",
                                                    "team/app@sha256:a#0"}));
  EXPECT_EQ(due(f, 1000, 2).size(), 2u);
  EXPECT_TRUE(due(f, 1000, 0).empty());
}

TEST(artifact_details_store, a_done_read_is_stored_and_never_due_again) {
  test::store_fixture f;
  artifact(f, "team/app", "sha256:a");
  artifact(f, "team/app", "sha256:b");
  record(f, {done("team/app", "sha256:a")}, 777);
  EXPECT_EQ(due(f, 1000), (std::vector<std::string>{"team/app@sha256:b#0"}));
  EXPECT_EQ(f.text("SELECT status FROM artifact_details WHERE digest = "
                   "'sha256:a'"),
            "done");
  EXPECT_EQ(f.text("SELECT config_media_type FROM artifact_details"),
            "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(f.text("SELECT extra_attrs FROM artifact_details"),
            R"({"architecture":"amd64","os":"linux"})");
  EXPECT_EQ(f.text("SELECT refs FROM artifact_details"), "[]");
  EXPECT_EQ(f.scalar("SELECT size FROM artifact_details"), 1234);
  EXPECT_EQ(f.scalar("SELECT fetched_at FROM artifact_details"), 777);
  EXPECT_EQ(f.scalar("SELECT attempts FROM artifact_details"), 0);
}

TEST(artifact_details_store,
     failures_back_off_count_attempts_and_stop_at_the_cap) {
  test::store_fixture f;
  artifact(f, "team/app", "sha256:a");
  record(f, {failure("team/app", "sha256:a", artifact_details_outcome::retry,
                     2000, "GET manifest: connect refused")});
  EXPECT_EQ(f.text("SELECT status FROM artifact_details"), "failed");
  EXPECT_EQ(f.text("SELECT error FROM artifact_details"),
            "GET manifest: connect refused");
  // The JSON columns stay valid JSON on a failed row.
  EXPECT_EQ(f.text("SELECT extra_attrs FROM artifact_details"), "{}");
  EXPECT_EQ(f.text("SELECT annotations FROM artifact_details"), "{}");
  EXPECT_EQ(f.text("SELECT refs FROM artifact_details"), "[]");
  // Not before its next attempt.
  EXPECT_TRUE(due(f, 1999).empty());
  EXPECT_EQ(due(f, 2000), (std::vector<std::string>{"team/app@sha256:a#1"}));
  record(f, {failure("team/app", "sha256:a", artifact_details_outcome::failed,
                     3000, std::string("404\n MANIFEST_UNKNOWN") + '\0')});
  EXPECT_EQ(f.scalar("SELECT attempts FROM artifact_details"), 2);
  // Control characters never reach the column.
  EXPECT_EQ(f.text("SELECT error FROM artifact_details"),
            "404\n MANIFEST_UNKNOWN ");
  EXPECT_EQ(due(f, 3000), (std::vector<std::string>{"team/app@sha256:a#2"}));
  record(f, {failure("team/app", "sha256:a", artifact_details_outcome::retry,
                     4000, "again")});
  // Three attempts: the cap of 3 is reached, it stays failed.
  EXPECT_TRUE(due(f, 5000, 10, 3).empty());
  EXPECT_EQ(due(f, 5000, 10, 4).size(), 1u);
  // A later success fills the row.
  record(f, {done("team/app", "sha256:a")});
  EXPECT_EQ(f.text("SELECT status FROM artifact_details"), "done");
  EXPECT_EQ(f.text("SELECT error FROM artifact_details"), "");
  EXPECT_EQ(f.scalar("SELECT next_attempt_at FROM artifact_details"), 0);
  EXPECT_EQ(f.scalar("SELECT size FROM artifact_details"), 1234);
}

TEST(artifact_details_store, a_late_failure_never_overwrites_a_done_row) {
  // Two instances read one artifact (PostgreSQL): one succeeds, the
  // other's registry call fails; the success stands.
  test::store_fixture f;
  artifact(f, "team/app", "sha256:a");
  record(f, {done("team/app", "sha256:a"),
             failure("team/app", "sha256:a", artifact_details_outcome::retry,
                     9000, "late")});
  EXPECT_EQ(f.text("SELECT status FROM artifact_details"), "done");
  EXPECT_EQ(f.text("SELECT error FROM artifact_details"), "");
  // And a second done read is an idempotent upsert.
  record(f, {done("team/app", "sha256:a")});
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM artifact_details"), 1);
}

} // namespace
} // namespace regevent
