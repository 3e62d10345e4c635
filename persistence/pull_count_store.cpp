#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"
#include "persistence/multi_row.hpp"

#include <map>

namespace regevent {

namespace {

/// Pull counts per repository. Hot repositories are aggregated inside a
/// batch: one upsert per repository per commit, not one per event.
class pull_count_store : public effect_store {
public:
  explicit pull_count_store(database& db)
      : effect_store(db, effect_kind::pull_counter),
        upsert_(db.session(),
                "INSERT INTO pull_counts (repository, pull_count, last_pull)",
                {column_type::text, column_type::integer, column_type::integer},
                "ON CONFLICT (repository) DO UPDATE SET pull_count = "
                "pull_counts.pull_count + excluded.pull_count, last_pull = "
                "CASE WHEN excluded.last_pull > pull_counts.last_pull THEN "
                "excluded.last_pull ELSE pull_counts.last_pull END") {}

protected:
  void apply_fresh(const std::vector<const effect_input*>& fresh) override {
    // Keyed once per statement: PostgreSQL refuses an upsert that touches
    // one row twice.
    std::map<std::string, std::pair<long long, long long>> totals;
    for (const auto* p : fresh) {
      if (!p->count_pull)
        continue;
      auto& t = totals[p->event.repository];
      t.first += 1;
      t.second = std::max<long long>(t.second, p->event.time);
    }
    for (const auto& [repository, t] : totals)
      upsert_.text(repository).integer(t.first).integer(t.second);
    upsert_.execute();
  }

private:
  multi_row_insert upsert_;
};

} // namespace

std::unique_ptr<effect_store> make_pull_count_store(database& db) {
  return std::make_unique<pull_count_store>(db);
}

} // namespace regevent
