import type { ErrorBody, RouteDialect } from '@herald/platform';

/**
 * The prefixes DevLake's webhook plugin answers under (with and without `/api` and `/rest`, as
 * DevLake's own server and its config UI's curl commands use them; docs/incoming-webhooks.md).
 * The gateway forwards them to ingestion.
 */
export const DEVLAKE_ROUTE_PREFIXES = ['/api/plugins/webhook/', '/plugins/webhook/', '/api/rest/plugins/webhook/', '/rest/plugins/webhook/'] as const;

/** A path (no query) of the DevLake-compatible routes. */
export const DEVLAKE_PATH = /^\/(api\/)?(rest\/)?plugins\/webhook\//;

/** DevLake's error envelope (`{code, success: false, message, causes, data}`): every field problem is also a cause. */
export function devlakeEnvelope(body: ErrorBody) {
  const causes = body.details?.map((d) => `${d.field}: ${d.message}`) ?? [];
  return { code: body.status, success: false, message: body.message, causes, data: null };
}

/**
 * How the DevLake-compatible routes differ from the rest of the API, for the HTTP apps that serve
 * or forward them (ingestion, the gateway): errors in DevLake's envelope, and any body read as JSON
 * whatever its Content-Type (DevLake binds it so; `curl -d` sends form-urlencoded).
 */
export const DEVLAKE_ROUTES: RouteDialect = {
  name: 'devlake',
  matches: (path) => DEVLAKE_PATH.test(path),
  envelope: devlakeEnvelope,
  anyContentTypeIsJson: true,
};
