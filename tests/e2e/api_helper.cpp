#include "tests/e2e/api_helper.hpp"

#include <algorithm>

namespace regevent::test {

using json = nlohmann::json;

namespace {

std::pair<std::string, std::string> split_name(const std::string& full) {
  auto slash = full.find('/');
  return {full.substr(0, slash), full.substr(slash + 1)};
}

} // namespace

std::string encode_path_segment(const std::string& rest) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : rest) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
        || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0f];
    }
  }
  return out;
}

management_api::management_api(uint16_t port, std::string admin_token)
    : client_("127.0.0.1", port), token_(std::move(admin_token)) {}

json management_api::get(const std::string& target) {
  auto answer = client_.get(target, token_);
  if (answer.status != 200)
    return nullptr;
  auto body = json::parse(answer.body, nullptr, false);
  return body.is_discarded() ? json(nullptr) : body;
}

std::vector<std::string> management_api::projects() {
  std::vector<std::string> names;
  auto list = get("/api/v2.0/projects?page_size=100");
  if (list.is_array())
    for (const auto& p : list)
      names.push_back(p.value("name", ""));
  return names;
}

json management_api::repository(const std::string& full_name) {
  auto list = get("/api/v2.0/projects/" + split_name(full_name).first
                  + "/repositories?page_size=100");
  if (list.is_array())
    for (const auto& r : list)
      if (r.value("name", "") == full_name)
        return r;
  return nullptr;
}

long long management_api::pull_count(const std::string& full_name) {
  auto r = repository(full_name);
  return r.is_object() ? r.value("pull_count", -1LL) : -1;
}

json management_api::artifacts(const std::string& full_name) {
  auto [project, rest] = split_name(full_name);
  auto list = get("/api/v2.0/projects/" + project + "/repositories/"
                  + encode_path_segment(rest) + "/artifacts?page_size=100");
  return list.is_array() ? list : json::array();
}

json management_api::artifact(const std::string& full_name,
                              const std::string& digest) {
  for (const auto& a : artifacts(full_name))
    if (a.value("digest", "") == digest)
      return a;
  return nullptr;
}

std::vector<std::string> management_api::tags(const std::string& full_name,
                                              const std::string& digest) {
  std::vector<std::string> names;
  auto a = artifact(full_name, digest);
  if (a.is_object() && a["tags"].is_array())
    for (const auto& t : a["tags"])
      names.push_back(t.value("name", ""));
  std::sort(names.begin(), names.end());
  return names;
}

json management_api::audit_logs(const std::string& query) {
  json all = json::array();
  for (int page = 1; page < 100; ++page) {
    auto list = get("/api/v2.0/audit-logs?" + query
                    + "&page_size=100&page=" + std::to_string(page));
    if (!list.is_array())
      return nullptr;
    for (auto& entry : list)
      all.push_back(std::move(entry));
    if (list.size() < 100)
      break;
  }
  return all;
}

} // namespace regevent::test
