#include "http/json_fields.hpp"

namespace regevent {

using json = nlohmann::json;

bool read_string(const json& o, const char* key, const std::string& where,
                 std::string& out, bool& given, std::string& error) {
  given = false;
  auto it = o.find(key);
  if (it == o.end() || it->is_null())
    return true;
  if (!it->is_string()) {
    error = where + key + " must be a string";
    return false;
  }
  out = it->get<std::string>();
  given = true;
  return true;
}

bool read_bool(const json& o, const char* key, const std::string& where,
               bool& out, std::string& error) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null())
    return true;
  if (!it->is_boolean()) {
    error = where + key + " must be true or false";
    return false;
  }
  out = it->get<bool>();
  return true;
}

bool read_int(const json& o, const char* key, const std::string& where,
              int64_t min, int64_t max, int64_t& out, std::string& error) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null())
    return true;
  if (!it->is_number_integer() || it->get<int64_t>() < min
      || it->get<int64_t>() > max) {
    error = where + key + " must be an integer from " + std::to_string(min)
            + " to " + std::to_string(max);
    return false;
  }
  out = it->get<int64_t>();
  return true;
}

bool parse_object(const std::string& body, json& out, std::string& error) {
  out = json::parse(body, nullptr, false);
  if (out.is_discarded() || !out.is_object()) {
    error = "body must be a JSON object";
    return false;
  }
  return true;
}

std::string dump_json(const json& x) {
  return x.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace regevent
