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
    patchDocumentOnRequest: options.merge
      ? async (_req: unknown, _res: unknown, doc: OpenAPIObject) => mergeDocuments(doc, await options.merge?.().catch(() => null))
      : undefined,
  });
  return document;
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
