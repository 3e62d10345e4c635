#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"

#include <soci/soci.h>

#include <map>
#include <set>

namespace regevent {

namespace {

/// Projects and repositories: a repository is created on its first push;
/// an unknown project is created with it under `unknown_project: create`.
class repository_store : public effect_store {
public:
  repository_store(database& db, unknown_project_policy policy)
      : effect_store(db, effect_kind::repositories), policy_(policy) {}

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
    // Many pushes to one repository in a batch cost one upsert.
    std::map<std::string, span> repos;
    for (const auto* p : fresh) {
      auto [it, inserted] = repos.try_emplace(
          p->event.repository, span{p->project, p->event.time, p->event.time});
      if (!inserted) {
        it->second.first = std::min(it->second.first, p->event.time);
        it->second.last = std::max(it->second.last, p->event.time);
      }
    }
    auto& sql = db_.session();
    for (const auto& [name, s] : repos) {
      if (policy_ == unknown_project_policy::create) {
        sql << "INSERT INTO projects (name, creation_time, update_time) "
               "VALUES (:n, :t, :t2) ON CONFLICT (name) DO NOTHING",
            soci::use(s.project), soci::use(s.first), soci::use(s.first);
      }
      sql << "INSERT INTO repositories (name, project, creation_time, "
             "update_time) VALUES (:n, :p, :c, :u) ON CONFLICT (name) DO "
             "UPDATE SET creation_time = CASE WHEN excluded.creation_time < "
             "repositories.creation_time THEN excluded.creation_time ELSE "
             "repositories.creation_time END, update_time = CASE WHEN "
             "excluded.update_time > repositories.update_time THEN "
             "excluded.update_time ELSE repositories.update_time END",
          soci::use(name), soci::use(s.project), soci::use(s.first),
          soci::use(s.last);
    }
  }

private:
  unknown_project_policy policy_;
  std::set<std::string> known_;
};

} // namespace

std::unique_ptr<effect_store>
make_repository_store(database& db, unknown_project_policy policy) {
  return std::make_unique<repository_store>(db, policy);
}

} // namespace regevent
