// Multi-row INSERTs on the database the suite runs against (SQLite, and
// PostgreSQL in the postgresql. variant): every chunk size, the rows the
// database reports back under ON CONFLICT DO NOTHING, and a failed
// statement that leaves nothing behind for the next one.

#include "config/config.hpp"
#include "persistence/database.hpp"
#include "persistence/multi_row.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace regevent::test {
namespace {

class multi_row : public ::testing::Test {
protected:
  multi_row()
      : url_(test_database_url(dir_)),
        cfg_(load_config_from_string("database:\n  url: " + url_ + "\n")),
        db_(std::make_unique<database>(cfg_)) {
    migrate(*db_);
    db_->session() << "CREATE TABLE multi_row_probe (k TEXT PRIMARY KEY, "
                      "v BIGINT NOT NULL CHECK (v >= 0))";
    db_->session() << "CREATE TABLE multi_row_marks (event_id TEXT NOT NULL, "
                      "effect TEXT NOT NULL, applied_at BIGINT NOT NULL, "
                      "PRIMARY KEY (event_id, effect))";
  }
  long long scalar(const std::string& query) {
    long long value = 0;
    soci::indicator ind = soci::i_ok;
    db_->session() << query, soci::into(value, ind);
    return ind == soci::i_null ? 0 : value;
  }

  /// Inserts marks for ids [from, to) and returns the ids reported back.
  std::vector<std::string> mark(multi_row_insert& marks, int from, int to) {
    for (int i = from; i < to; ++i)
      marks.text("event-" + std::to_string(100000 + i))
          .text("probe")
          .integer(i);
    std::vector<std::string> inserted;
    write_transaction tx(*db_);
    marks.execute(&inserted);
    tx.commit();
    std::sort(inserted.begin(), inserted.end());
    return inserted;
  }

  temp_dir dir_;
  std::string url_;
  config cfg_;
  std::unique_ptr<database> db_;
};

multi_row_insert marks_statement(database& db) {
  return {db.session(),
          "INSERT INTO multi_row_marks (event_id, effect, applied_at)",
          {column_type::text, column_type::text, column_type::integer},
          "ON CONFLICT (event_id, effect) DO NOTHING",
          "event_id"};
}

TEST_F(multi_row, every_row_is_written_whatever_the_chunks_and_reported_once) {
  auto marks = marks_statement(*db_);
  // 0, exactly a chunk, and counts that need every chunk size.
  int next = 0;
  for (int n : {0, 1, 4, 7, 64, 85, 256, 341}) {
    auto inserted = mark(marks, next, next + n);
    ASSERT_EQ(inserted.size(), static_cast<size_t>(n)) << n << " rows";
    for (int i = 0; i < n; ++i)
      EXPECT_TRUE(
          std::binary_search(inserted.begin(), inserted.end(),
                             "event-" + std::to_string(100000 + next + i)));
    next += n;
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM multi_row_marks WHERE effect = "
                     "'probe'"),
              next);
    EXPECT_EQ(marks.rows(), 0u);
  }
  // The integers went to the right rows.
  EXPECT_EQ(scalar("SELECT SUM(applied_at) FROM multi_row_marks WHERE effect = "
                   "'probe'"),
            static_cast<long long>(next) * (next - 1) / 2);
}

TEST_F(multi_row, only_rows_not_there_before_are_reported) {
  auto marks = marks_statement(*db_);
  ASSERT_EQ(mark(marks, 0, 10).size(), 10u);
  // 5..9 exist; 10..19 are new.
  auto inserted = mark(marks, 5, 20);
  ASSERT_EQ(inserted.size(), 10u);
  EXPECT_EQ(inserted.front(), "event-100010");
  EXPECT_EQ(inserted.back(), "event-100019");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM multi_row_marks WHERE effect = "
                   "'probe'"),
            20);
  // The same key twice in one statement is inserted and reported once.
  auto twice = mark(marks, 30, 31);
  ASSERT_EQ(twice.size(), 1u);
  for (int k = 0; k < 2; ++k)
    marks.text("event-dup").text("probe").integer(1);
  std::vector<std::string> reported;
  marks.execute(&reported);
  EXPECT_EQ(reported, std::vector<std::string>{"event-dup"});
}

TEST_F(multi_row, a_text_and_an_integer_are_reported_row_by_row) {
  multi_row_insert probe(db_->session(), "INSERT INTO multi_row_probe (k, v)",
                         {column_type::text, column_type::integer},
                         "ON CONFLICT (k) DO NOTHING", "k, v",
                         {column_type::text, column_type::integer});
  probe.text("old").integer(1);
  probe.execute();
  // 70 rows: chunks of 64, 4, 1 and 1; one of them exists.
  for (int i = 0; i < 69; ++i)
    probe.text("k" + std::to_string(i)).integer(i * 10);
  probe.text("old").integer(99);
  std::vector<std::string> keys;
  std::vector<long long> values;
  probe.execute(&keys, &values);
  ASSERT_EQ(keys.size(), 69u);
  ASSERT_EQ(values.size(), 69u);
  for (size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ("k" + std::to_string(values[i] / 10), keys[i]);
  EXPECT_EQ(scalar("SELECT v FROM multi_row_probe WHERE k = 'old'"), 1);
}

TEST_F(multi_row, a_refused_statement_leaves_nothing_for_the_next) {
  multi_row_insert probe(db_->session(), "INSERT INTO multi_row_probe (k, v)",
                         {column_type::text, column_type::integer}, "");
  for (int i = 0; i < 5; ++i)
    probe.text("bad-" + std::to_string(i)).integer(i == 3 ? -1 : i);
  {
    write_transaction tx(*db_);
    EXPECT_THROW(probe.execute(), soci::soci_error);
  }
  EXPECT_EQ(probe.rows(), 0u);
  probe.text("good").integer(7);
  write_transaction tx(*db_);
  probe.execute();
  tx.commit();
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM multi_row_probe"), 1);
  EXPECT_EQ(scalar("SELECT v FROM multi_row_probe WHERE k = 'good'"), 7);
}

TEST_F(multi_row, values_must_follow_the_column_types) {
  multi_row_insert probe(db_->session(), "INSERT INTO multi_row_probe (k, v)",
                         {column_type::text, column_type::integer}, "");
  EXPECT_THROW(probe.integer(1), std::logic_error);
  probe.text("k");
  EXPECT_THROW(probe.text("v"), std::logic_error);
  // A half row is not written.
  EXPECT_THROW(probe.execute(), std::logic_error);
}

} // namespace
} // namespace regevent::test
