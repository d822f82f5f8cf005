// Instance-wide counts for /metrics (see instance_figures.hpp).
#include "server/core/instance_figures.hpp"

namespace lotse::core {

InstanceFigures instance_figures(store::Database& db) {
  InstanceFigures f;
  auto& c = db.conn();
  auto roles = c.prepare("SELECT role, count(*) FROM users WHERE deactivated = 0 GROUP BY role");
  while (roles.step()) f.users_by_role[roles.text(0)] = roles.int64(1);
  auto open = c.prepare("SELECT count(*) FROM consultations WHERE status = 'open'");
  if (open.step()) f.open_consultations = open.int64(0);
  auto pages = c.prepare("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
  if (pages.step()) f.database_bytes = pages.int64(0);
  auto media = c.prepare(
      "SELECT coalesce(sum(size), 0) FROM (SELECT sha256, max(size) AS size FROM media WHERE sha256 IS NOT NULL "
      "GROUP BY sha256 UNION SELECT sha256, max(size) FROM media_thumbnails GROUP BY sha256)");
  if (media.step()) f.media_bytes = media.int64(0);
  return f;
}

}  // namespace lotse::core
