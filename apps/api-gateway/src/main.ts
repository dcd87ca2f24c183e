import 'reflect-metadata';
import type { OpenAPIObject } from '@nestjs/swagger';
import { DEVLAKE_ROUTES } from '@herald/intake';
import { createHttpApp, listen, loadConfigOrExit, runMain, startTracing, serveOpenApi, type HttpAppOptions } from '@herald/platform';
import { GatewayModule } from './app.module';
import { registerConsole } from './console-static';
import { registerIntakeProxy } from './intake-proxy';

runMain('api-gateway', async () => {
  const config = loadConfigOrExit({ app: 'api-gateway', require: ['HERALD_ADMIN_TOKEN', 'HERALD_ENCRYPTION_KEY'] });
  // Before the app is built: its request hooks and services ask whether tracing is on.
  await startTracing(config, 'api-gateway');
  const options: HttpAppOptions = {
    name: 'api-gateway',
    port: config.gatewayPort,
    config,
    // The DevLake routes it forwards answer its own errors (ingestion away, body too large) in DevLake's envelope.
    dialects: [DEVLAKE_ROUTES],
    configure: async (app, fastify) => {
      await registerIntakeProxy(fastify, config);
      registerConsole(fastify);
      serveOpenApi(app, {
        title: 'Herald',
        description:
          'Self-hosted webhook hub: management API (projects, API keys, webhooks, events, deliveries) and intake ' +
          '(events API, DevLake-compatible incoming webhooks; forwarded to the ingestion app). ' +
          'Authenticate with `Authorization: Bearer <admin token or project API key>`.',
        // Intake routes are served (and described) by ingestion; the gateway forwards them.
        merge: intakeDocument(config.ingestionUrls),
      });
    },
  };
  const app = await createHttpApp(GatewayModule.forRoot(config), options);
  await listen(app, options);
});

/** Ingestion's description, cached for a minute; the last good copy is kept if ingestion is away. */
function intakeDocument(ingestionUrls: string[]): () => Promise<OpenAPIObject | null> {
  let cached: { at: number; doc: OpenAPIObject } | null = null;
  return async () => {
    if (cached && Date.now() - cached.at < 60_000) return cached.doc;
    for (const url of ingestionUrls) {
      try {
        const res = await fetch(`${url}/docs-json`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) {
          cached = { at: Date.now(), doc: (await res.json()) as OpenAPIObject };
          break;
        }
      } catch {
        // the next one, else keep the last good copy
      }
    }
    return cached?.doc ?? null;
  };
}
