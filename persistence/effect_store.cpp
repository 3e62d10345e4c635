#include "persistence/effect_store.hpp"

#include "persistence/database.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <stdexcept>

namespace regevent {

struct effect_store::marks {
  marks(soci::session& sql, const std::string& name)
      : effect(name),
        insert((sql.prepare << "INSERT INTO event_effects (event_id, effect, "
                               "applied_at) VALUES (:e, :f, :t) ON CONFLICT "
                               "(event_id, effect) DO NOTHING",
                soci::use(event_id), soci::use(effect), soci::use(now))) {}
  std::string event_id;
  std::string effect;
  long long now = 0;
  soci::statement insert;
};

effect_store::effect_store(database& db, effect_kind effect)
    : db_(db), effect_(to_string(effect)) {}

effect_store::~effect_store() = default;

void effect_store::apply(const std::vector<const effect_input*>& batch,
                         std::vector<bool>& applied) {
  if (!marks_)
    marks_ = std::make_unique<marks>(db_.session(), effect_);
  applied.assign(batch.size(), false);
  std::vector<const effect_input*> fresh;
  fresh.reserve(batch.size());
  marks_->now = now_us();
  // Marks are taken in event-id order: one lock order for every
  // transaction, so that instances sharing PostgreSQL cannot deadlock.
  std::vector<size_t> order(batch.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return batch[a]->event.id < batch[b]->event.id;
  });
  for (auto i : order) {
    marks_->event_id = batch[i]->event.id;
    marks_->insert.execute(true);
    if (marks_->insert.get_affected_rows() == 1) {
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
