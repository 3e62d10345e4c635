#include "http/registry_auth.hpp"

#include "config/defaults.hpp"

#include <algorithm>
#include <cctype>

namespace regevent {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

/// RFC 9110 §5.6.2 token characters.
bool is_tchar(char c) {
  static const std::string_view extra = "!#$%&'*+-.^_`|~";
  return std::isalnum(static_cast<unsigned char>(c))
         || extra.find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

/// A cursor over a header value.
struct scanner {
  std::string_view text;
  size_t at = 0;

  bool done() const {
    return at >= text.size();
  }
  char peek() const {
    return done() ? '\0' : text[at];
  }
  void skip_space() {
    while (!done() && is_space(text[at]))
      ++at;
  }
  /// Skips spaces and commas: empty list elements are allowed (§5.6.1).
  void skip_separators() {
    while (!done() && (is_space(text[at]) || text[at] == ','))
      ++at;
  }
  std::string_view token() {
    auto start = at;
    while (!done() && is_tchar(text[at]))
      ++at;
    return text.substr(start, at - start);
  }
  /// A quoted-string with its backslash escapes; nothing when unterminated.
  std::optional<std::string> quoted() {
    if (peek() != '"')
      return std::nullopt;
    ++at;
    std::string out;
    while (!done()) {
      char c = text[at++];
      if (c == '"')
        return out;
      if (c == '\\' && !done())
        c = text[at++];
      out += c;
    }
    return std::nullopt;
  }
};

} // namespace

std::string auth_challenge::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

std::vector<auth_challenge> parse_www_authenticate(std::string_view value) {
  std::vector<auth_challenge> out;
  scanner s{value};
  s.skip_separators();
  while (!s.done()) {
    auto scheme = s.token();
    if (scheme.empty())
      return out;
    auth_challenge challenge;
    challenge.scheme = lower(scheme);
    s.skip_space();
    // auth-params until a token that is not followed by `=` starts the
    // next challenge. (A token68 challenge, `Negotiate abc==`, is not one
    // a registry sends; its value ends the list.)
    for (;;) {
      s.skip_separators();
      if (s.done())
        break;
      auto mark = s.at;
      auto name = s.token();
      s.skip_space();
      if (name.empty()) {
        out.push_back(std::move(challenge));
        return out;
      }
      if (s.peek() != '=') {
        s.at = mark; // a new challenge's scheme
        break;
      }
      ++s.at; // '='
      s.skip_space();
      std::string v;
      if (s.peek() == '"') {
        auto q = s.quoted();
        if (!q) {
          out.push_back(std::move(challenge));
          return out;
        }
        v = std::move(*q);
      } else {
        v = std::string(s.token());
      }
      challenge.params[lower(name)] = std::move(v);
    }
    out.push_back(std::move(challenge));
  }
  return out;
}

std::optional<std::string> next_link(std::string_view value) {
  // link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param ), several
  // separated by commas (RFC 8288 §3); a URI holds no '>'.
  size_t at = 0;
  while (at < value.size()) {
    auto open = value.find('<', at);
    if (open == std::string_view::npos)
      return std::nullopt;
    auto close = value.find('>', open);
    if (close == std::string_view::npos)
      return std::nullopt;
    auto target = value.substr(open + 1, close - open - 1);
    auto end = value.find('<', close);
    auto params = lower(value.substr(close + 1, end == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : end - close - 1));
    for (std::string_view rel : {"rel=\"next\"", "rel=next"})
      if (params.find(rel) != std::string::npos)
        return std::string(target);
    at = close + 1;
  }
  return std::nullopt;
}

std::optional<std::string> token_cache::find(const std::string& scope,
                                             clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mtx_);
  auto it = tokens_.find(scope);
  if (it == tokens_.end() || now >= it->second.renew_at)
    return std::nullopt;
  return it->second.token;
}

void token_cache::store(const std::string& scope, std::string token,
                        std::chrono::seconds expires_in,
                        clock::time_point now) {
  auto margin = std::min<std::chrono::seconds>(
      std::chrono::seconds(defaults::registry::token_renew_margin_s),
      expires_in / 2);
  std::lock_guard<std::mutex> lock(mtx_);
  tokens_[scope] = entry{std::move(token), now + expires_in - margin};
}

void token_cache::drop(const std::string& scope) {
  std::lock_guard<std::mutex> lock(mtx_);
  tokens_.erase(scope);
}

} // namespace regevent
