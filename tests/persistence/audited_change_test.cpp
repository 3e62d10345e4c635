// An API change and its audit row in one transaction, on real SQLite: the
// store's own transaction nests in it, a change the store refuses (it
// rolled its part back) leaves no row, and the outermost commit is the
// only one.

#include "persistence/audited_change.hpp"
#include "persistence/catalog_store.hpp"
#include "tests/persistence/store_fixture.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace regevent {
namespace {

api_change project_created(const std::string& name) {
  return {"ops", "create", "project", name, name};
}

TEST(audited_change, the_change_and_its_row_commit_together) {
  test::store_fixture f;
  catalog_store catalog(f.db());
  {
    audited_change tx(f.db());
    ASSERT_TRUE(catalog.create_project({"team-a", false, false}));
    EXPECT_TRUE(tx.commit(project_created("team-a"), 42));
  }
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM projects WHERE name = 'team-a'"),
            1);
  EXPECT_EQ(f.text("SELECT username || ' ' || operation || ' ' || "
                   "resource_type || ' ' || resource || ' ' || project FROM "
                   "access_logs"),
            "ops create project team-a team-a");
  audit_query q;
  q.filter.resource = "team-a";
  q.filter.resource_type = "project";
  auto page = catalog.list_audit_logs(q);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].op_time, 42);
}

TEST(audited_change, a_refused_change_writes_no_row) {
  test::store_fixture f;
  catalog_store catalog(f.db());
  ASSERT_TRUE(catalog.create_project({"team-a", false, false}));
  {
    audited_change tx(f.db());
    // Taken: the store rolls its part back.
    EXPECT_FALSE(catalog.create_project({"team-a", true, false}));
    EXPECT_FALSE(tx.commit(project_created("team-a"), 42));
  }
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM access_logs"), 0);
  // The connection is clean: the next write commits on its own.
  ASSERT_TRUE(catalog.create_project({"team-b", false, false}));
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM projects"), 2);
}

TEST(audited_change, a_change_without_its_commit_leaves_nothing) {
  test::store_fixture f;
  catalog_store catalog(f.db());
  {
    audited_change tx(f.db());
    ASSERT_TRUE(catalog.create_project({"team-a", false, false}));
    // No commit (an exception on the way): both go.
  }
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM projects WHERE name = 'team-a'"),
            0);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM access_logs"), 0);
}

TEST(audited_change, a_transaction_whose_nested_one_rolled_back_cannot_commit) {
  test::store_fixture f;
  write_transaction outer(f.db());
  {
    write_transaction inner(f.db());
  }
  EXPECT_TRUE(f.db().nested_rollback());
  EXPECT_THROW(outer.commit(), std::logic_error);
}

} // namespace
} // namespace regevent
