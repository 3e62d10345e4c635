#include "config/database_url.hpp"
#include "tests/config/errors.hpp"

#include <gtest/gtest.h>

#include <string>

namespace regevent {
namespace {

using test::contains;

std::string url_error_of(const std::string& url) {
  try {
    parse_database_url(url);
  } catch (const config_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "parse_database_url accepted " << url;
  return {};
}

TEST(database_url, sqlite_absolute_path_keeps_the_leading_slash) {
  auto u = parse_database_url("sqlite:///abs/path.db");
  EXPECT_EQ(u.backend, database_url::backend_kind::sqlite);
  EXPECT_EQ(u.path, "/abs/path.db");
  EXPECT_EQ(u.redacted, "sqlite:///abs/path.db");
  EXPECT_TRUE(u.connection_string.empty());
}

TEST(database_url, sqlite_relative_path) {
  auto u = parse_database_url("sqlite://rel.db");
  EXPECT_EQ(u.backend, database_url::backend_kind::sqlite);
  EXPECT_EQ(u.path, "rel.db");
  auto nested = parse_database_url("sqlite://data/dir/rel.db");
  EXPECT_EQ(nested.path, "data/dir/rel.db");
}

TEST(database_url, sqlite_without_a_path_is_rejected) {
  EXPECT_TRUE(contains(url_error_of("sqlite://"), "no file path"));
  EXPECT_TRUE(contains(url_error_of("sqlite:///"), "no file path"));
}

TEST(database_url, postgresql_builds_a_libpq_connection_string) {
  auto u = parse_database_url("postgresql://user:pa%40ss@host:5433/db");
  EXPECT_EQ(u.backend, database_url::backend_kind::postgresql);
  EXPECT_EQ(u.connection_string,
            "host='host' port='5433' dbname='db' user='user' "
            "password='pa@ss'");
  EXPECT_TRUE(u.path.empty());
}

TEST(database_url, postgresql_redacts_the_password) {
  auto u = parse_database_url("postgresql://user:pa%40ss@host:5433/db");
  EXPECT_EQ(u.redacted, "postgresql://user:***@host:5433/db");
  EXPECT_FALSE(contains(u.redacted, "pa%40ss"));
  EXPECT_FALSE(contains(u.redacted, "pa@ss"));
}

TEST(database_url, postgresql_optional_parts) {
  auto no_port = parse_database_url("postgresql://u:p@db.example/events");
  EXPECT_EQ(no_port.connection_string,
            "host='db.example' dbname='events' user='u' password='p'");
  EXPECT_EQ(no_port.redacted, "postgresql://u:***@db.example/events");
  auto no_password = parse_database_url("postgresql://u@h:1/d");
  EXPECT_EQ(no_password.connection_string,
            "host='h' port='1' dbname='d' user='u'");
  EXPECT_EQ(no_password.redacted, "postgresql://u@h:1/d");
  auto no_user = parse_database_url("postgres://h/d");
  EXPECT_EQ(no_user.backend, database_url::backend_kind::postgresql);
  EXPECT_EQ(no_user.connection_string, "host='h' dbname='d'");
  EXPECT_EQ(no_user.redacted, "postgresql://h/d");
}

TEST(database_url, postgresql_quotes_libpq_special_characters) {
  auto u = parse_database_url("postgresql://u:a%27b%5Cc%20d@h/d");
  EXPECT_EQ(u.connection_string,
            "host='h' dbname='d' user='u' password='a\\'b\\\\c d'");
}

TEST(database_url, postgresql_query_parameters_reach_libpq) {
  // sslmode=require must not be dropped silently: the connection would
  // then be allowed without TLS.
  auto u = parse_database_url(
      "postgresql://u:p@h:5432/d?sslmode=require&connect_timeout=5");
  EXPECT_TRUE(contains(u.connection_string, "sslmode='require'"))
      << u.connection_string;
  EXPECT_TRUE(contains(u.connection_string, "connect_timeout='5'"))
      << u.connection_string;
  EXPECT_TRUE(contains(u.redacted, "sslmode=require")) << u.redacted;
  auto pw = parse_database_url("postgresql://u@h/d?password=hunter2");
  EXPECT_TRUE(contains(pw.connection_string, "password='hunter2'"));
  EXPECT_FALSE(contains(pw.redacted, "hunter2")) << pw.redacted;
}

TEST(database_url, redacted_url_parses_back_to_the_same_target) {
  for (const char* url :
       {"postgresql://us%40er:pw@h:5432/d", "postgresql://u:pw@[::1]:5432/d",
        "postgresql://u:pw@h/my%2Fdb"}) {
    auto u = parse_database_url(url);
    database_url back;
    ASSERT_NO_THROW(back = parse_database_url(u.redacted))
        << url << " -> " << u.redacted;
    EXPECT_EQ(back.redacted, u.redacted) << url;
    EXPECT_FALSE(contains(u.redacted, "pw")) << u.redacted;
  }
  auto v6 = parse_database_url("postgresql://u:pw@[::1]:5432/d");
  EXPECT_TRUE(contains(v6.connection_string, "host='::1'"))
      << v6.connection_string;
}

TEST(database_url, invalid_schemes_are_rejected) {
  for (const char* url : {"mysql://u@h/db", "http://h/db", "sqlite:/x.db",
                          "file:///x.db", "regevent.db", ""}) {
    auto message = url_error_of(url);
    EXPECT_TRUE(contains(message, "database.url")) << url << ": " << message;
  }
  EXPECT_TRUE(contains(url_error_of("mysql://u@h/db"), "'mysql'"));
}

TEST(database_url, postgresql_missing_parts_are_rejected) {
  EXPECT_TRUE(contains(url_error_of("postgresql:///db"), "no host"));
  EXPECT_TRUE(contains(url_error_of("postgresql://u:p@h"), "database name"));
  EXPECT_TRUE(contains(url_error_of("postgresql://u:p@h/"), "database name"));
  EXPECT_TRUE(contains(url_error_of("postgresql://h:5432/d b"), "valid"));
}

TEST(database_url, postgresql_error_does_not_leak_the_password) {
  for (const char* url :
       {"postgresql://u:topsecret@h", "postgresql://u:top secret@h/d",
        "postgresql://u:topsecret@/d", "postgresql://u:top%ZZsecret@h/d"}) {
    auto message = url_error_of(url);
    EXPECT_FALSE(contains(message, "topsecret")) << message;
    EXPECT_FALSE(contains(message, "top secret")) << message;
  }
}

TEST(database_url, password_without_user_is_redacted_and_parses_back) {
  auto u = parse_database_url("postgresql://:pw@h/d");
  EXPECT_EQ(u.connection_string, "host='h' dbname='d' password='pw'");
  EXPECT_EQ(u.redacted, "postgresql://:***@h/d");
  EXPECT_NO_THROW(parse_database_url(u.redacted));
}

TEST(database_url, connection_parameters_must_be_keywords) {
  EXPECT_TRUE(contains(url_error_of("postgresql://h/d?bad-key=1"), "bad-key"));
  EXPECT_TRUE(contains(url_error_of("postgresql://h/d?=1"), "parameter"));
}

TEST(database_url, nul_byte_in_a_component_is_rejected) {
  // libpq reads the connection string as a C string: a decoded NUL would
  // cut the password (or a parameter) short instead of failing.
  for (const char* url :
       {"postgresql://u:pw%00x@h/d", "postgresql://u%00@h/d",
        "postgresql://h/d%00b", "postgresql://h/d?sslmode=require%00"}) {
    EXPECT_TRUE(contains(url_error_of(url), "%00")) << url;
  }
}

} // namespace
} // namespace regevent
