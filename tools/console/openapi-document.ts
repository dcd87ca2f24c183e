/* eslint-disable @nx/enforce-module-boundaries -- this build tool describes the two HTTP apps from their root modules */
import 'reflect-metadata';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { loadConfig, mergeDocuments } from '@herald/platform';
import { GatewayModule } from '../../apps/api-gateway/src/app.module';
import { IngestionModule } from '../../apps/ingestion/src/app.module';

/**
 * Prints the OpenAPI document the running gateway serves at /docs-json (its own routes merged with
 * ingestion's), built without a database or Redis: Nest's preview mode resolves the module graph
 * and the controllers' metadata but instantiates nothing. tools/build.mjs turns it into the
 * TypeScript types of libs/sdk, so a contract change that the console does not follow fails the
 * type check.
 */
async function describe(module: DynamicModule): Promise<OpenAPIObject> {
  const app = await NestFactory.create(module, new FastifyAdapter(), { preview: true, logger: false, abortOnError: false });
  try {
    return SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('Herald').setVersion('1').addBearerAuth().build());
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const config = loadConfig({
    HERALD_ADMIN_TOKEN: 'describe-only-token-0123456789',
    HERALD_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
    HERALD_LOG_LEVEL: 'silent',
  });
  const merged = mergeDocuments(await describe(GatewayModule.forRoot(config)), await describe(IngestionModule.forRoot(config)));
  process.stdout.write(JSON.stringify(merged, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`cannot describe the API: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
