import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

export interface OpenApiOptions {
  title: string;
  description: string;
  /** Another document to merge in on each request (the gateway merges ingestion's intake routes). */
  merge?: () => Promise<OpenAPIObject | null>;
}

/** Serves the app's OpenAPI description at /docs (UI) and /docs-json. */
export function serveOpenApi(app: INestApplication, options: OpenApiOptions): OpenAPIObject {
  const config = new DocumentBuilder().setTitle(options.title).setDescription(options.description).setVersion('1').addBearerAuth().build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    useGlobalPrefix: false,
    // Nest's UI serves its assets through @fastify/static, which Herald does not install (it needs
    // Node 22); the page below loads the same swagger-ui files from swagger-ui-dist.
    ui: false,
    patchDocumentOnRequest: options.merge
      ? async (_req: unknown, _res: unknown, doc: OpenAPIObject) => mergeDocuments(doc, await options.merge?.().catch(() => null))
      : undefined,
  });
  serveSwaggerUi(app, options.title);
  return document;
}

/** The swagger-ui files the page needs, read once from swagger-ui-dist (a dependency of @nestjs/swagger). */
const UI_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
};

interface PlainReply {
  type(contentType: string): PlainReply;
  send(body: string | Buffer): void;
}

function serveSwaggerUi(app: INestApplication, title: string): void {
  const http = app.getHttpAdapter();
  const root = dirname(require.resolve('swagger-ui-dist/package.json'));
  const page = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${title.replace(/[<>&"]/g, '')} API</title><link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/docs-json', dom_id: '#swagger-ui', deepLinking: true, presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });</script>
</body></html>
`;
  const sendPage = (_req: unknown, reply: PlainReply) => reply.type('text/html; charset=utf-8').send(page);
  http.get('/docs', sendPage);
  http.get('/docs/', sendPage);
  for (const [file, type] of Object.entries(UI_ASSETS)) {
    let body: Buffer | undefined;
    http.get(`/docs/${file}`, (_req: unknown, reply: PlainReply) => reply.type(type).send((body ??= readFileSync(join(root, file)))));
  }
}

export function mergeDocuments(base: OpenAPIObject, other: OpenAPIObject | null | undefined): OpenAPIObject {
  if (!other) return base;
  const paths = { ...base.paths };
  for (const [path, item] of Object.entries(other.paths ?? {})) paths[path] = { ...(paths[path] ?? {}), ...item };
  return {
    ...base,
    paths,
    tags: [...(base.tags ?? []), ...(other.tags ?? []).filter((t) => !(base.tags ?? []).some((b) => b.name === t.name))],
    components: {
      ...(base.components ?? {}),
      schemas: { ...(base.components?.schemas ?? {}), ...(other.components?.schemas ?? {}) },
    },
  };
}
