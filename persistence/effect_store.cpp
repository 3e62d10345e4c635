#include "persistence/effect_store.hpp"

#include "persistence/database.hpp"
#include "persistence/multi_row.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <stdexcept>

namespace regevent {

/// Completion marks, inserted for a whole batch at once; the database
/// reports back the seqs it inserted, which are the events not applied
/// before. A mark that exists is skipped atomically by `ON CONFLICT DO
/// NOTHING`, so that two instances racing on one event apply it once.
struct effect_store::marks {
  explicit marks(soci::session& sql)
      : insert(sql, "INSERT INTO effect_marks (event_seq, effect, applied_at)",
               {column_type::integer, column_type::text, column_type::integer},
               "ON CONFLICT (event_seq, effect) DO NOTHING", "event_seq",
               {column_type::integer}) {}
  multi_row_insert insert;
  std::vector<long long> inserted;
};

effect_store::effect_store(database& db, effect_kind effect)
    : db_(db), effect_(to_string(effect)) {}

effect_store::~effect_store() = default;

void effect_store::apply(const std::vector<const effect_input*>& batch,
                         std::vector<bool>& applied) {
  if (!marks_)
    marks_ = std::make_unique<marks>(db_.session());
  applied.assign(batch.size(), false);
  auto now = now_us();
  for (const auto* p : batch)
    if (p->event.seq <= 0)
      throw std::logic_error("effect " + effect_ + " for event " + p->event.id
                             + " that has no journal seq");
  // Marks are taken in seq order: one lock order for every transaction, so
  // that instances sharing PostgreSQL cannot deadlock, and appended at the
  // right edge of the marks' key. An event twice in one batch is applied
  // at most once (its first place).
  std::vector<size_t> order(batch.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return batch[a]->event.seq < batch[b]->event.seq;
  });
  order.erase(std::unique(order.begin(), order.end(),
                          [&](size_t a, size_t b) {
                            return batch[a]->event.seq == batch[b]->event.seq;
                          }),
              order.end());
  for (auto i : order)
    marks_->insert.integer(batch[i]->event.seq).text(effect_).integer(now);
  auto& inserted = marks_->inserted;
  inserted.clear();
  marks_->insert.execute(nullptr, &inserted);
  std::sort(inserted.begin(), inserted.end());
  std::vector<const effect_input*> fresh;
  fresh.reserve(inserted.size());
  for (auto i : order) {
    if (std::binary_search(inserted.begin(), inserted.end(),
                           batch[i]->event.seq)) {
      applied[i] = true;
      fresh.push_back(batch[i]);
    }
  }
  if (!fresh.empty())
    apply_fresh(fresh);
}

bool effect_store::project_exists(const std::string&) {
  return true;
}

std::unique_ptr<effect_store>
make_effect_store(effect_kind effect, database& db,
                  unknown_project_policy unknown_project) {
  switch (effect) {
    case effect_kind::access_log:
      return make_access_log_store(db);
    case effect_kind::repositories:
      return make_repository_store(db, unknown_project);
    case effect_kind::pull_counter:
      return make_pull_count_store(db);
    case effect_kind::artifacts:
      return make_artifact_store(db);
    case effect_kind::webhooks:
      return make_webhook_task_store(db);
    case effect_kind::replication:
      return make_replication_task_store(db);
    case effect_kind::scanning:
      return make_scan_task_store(db);
  }
  throw std::invalid_argument("unknown effect kind");
}

std::unique_ptr<effect_store>
make_effect_store(const std::string& effect, database& db, const config& cfg) {
  auto kind = effect_from_name(effect);
  if (!kind)
    throw std::invalid_argument("unknown effect " + effect);
  return make_effect_store(*kind, db, cfg.filter.unknown_project);
}

} // namespace regevent
