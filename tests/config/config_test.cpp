#include "config/config.hpp"

#include <gtest/gtest.h>

namespace regevent {
namespace {

TEST(config, defaults_listen_on_loopback_8080_with_sqlite) {
  auto c = default_config();
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.database.parsed.backend, database_url::backend_kind::sqlite);
  EXPECT_EQ(c.database.parsed.path, "regevent.db");
}

} // namespace
} // namespace regevent
