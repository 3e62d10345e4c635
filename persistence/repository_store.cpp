#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"
#include "persistence/multi_row.hpp"

#include <soci/soci.h>

#include <map>
#include <set>

namespace regevent {

namespace {

/// Projects and repositories: a repository is created by the first event
/// seen of it (a push, or a pull or delete of an image pushed before
/// regevent ran), its creation time the earliest event's and its update
/// time the latest's (Harbor moves a repository's update time on pulls
/// too); an unknown project is created with it under
/// `unknown_project: create`.
class repository_store : public effect_store {
public:
  repository_store(database& db, unknown_project_policy policy)
      : effect_store(db, effect_kind::repositories),
        policy_(policy),
        projects_(
            db.session(),
            "INSERT INTO projects (name, creation_time, update_time)",
            {column_type::text, column_type::integer, column_type::integer},
            "ON CONFLICT (name) DO NOTHING"),
        repositories_(
            db.session(),
            "INSERT INTO repositories (name, project, creation_time, "
            "update_time)",
            {column_type::text, column_type::text, column_type::integer,
             column_type::integer},
            "ON CONFLICT (name) DO UPDATE SET creation_time = CASE WHEN "
            "excluded.creation_time < repositories.creation_time THEN "
            "excluded.creation_time ELSE repositories.creation_time END, "
            "update_time = CASE WHEN excluded.update_time > "
            "repositories.update_time THEN excluded.update_time ELSE "
            "repositories.update_time END") {}

  bool project_exists(const std::string& project) override {
    if (known_.count(project) > 0)
      return true;
    int n = 0;
    db_.session() << "SELECT COUNT(*) FROM projects WHERE name = :n",
        soci::use(project), soci::into(n);
    // Only positive answers are cached: a project created through the API
    // later must be seen.
    if (n > 0)
      known_.insert(project);
    return n > 0;
  }

protected:
  void apply_fresh(const std::vector<const effect_input*>& fresh) override {
    struct span {
      std::string project;
      long long first = 0;
      long long last = 0;
    };
    // Many events of one repository in a batch cost one upsert.
    std::map<std::string, span> repos;
    for (const auto* p : fresh) {
      auto [it, inserted] = repos.try_emplace(
          p->event.repository, span{p->project, p->event.time, p->event.time});
      if (!inserted) {
        it->second.first = std::min(it->second.first, p->event.time);
        it->second.last = std::max(it->second.last, p->event.time);
      }
    }
    // Projects first, each once (one statement must not touch a row
    // twice), both in key order (one lock order for every instance).
    if (policy_ == unknown_project_policy::create) {
      std::map<std::string, long long> projects;
      for (const auto& [name, s] : repos) {
        auto [it, inserted] = projects.try_emplace(s.project, s.first);
        if (!inserted)
          it->second = std::min(it->second, s.first);
      }
      for (const auto& [project, first] : projects)
        projects_.text(project).integer(first).integer(first);
      projects_.execute();
    }
    for (const auto& [name, s] : repos)
      repositories_.text(name).text(s.project).integer(s.first).integer(s.last);
    repositories_.execute();
  }

private:
  unknown_project_policy policy_;
  std::set<std::string> known_;
  multi_row_insert projects_;
  multi_row_insert repositories_;
};

} // namespace

std::unique_ptr<effect_store>
make_repository_store(database& db, unknown_project_policy policy) {
  return std::make_unique<repository_store>(db, policy);
}

} // namespace regevent
