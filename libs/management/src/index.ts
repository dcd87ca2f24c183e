export * from './management.module';
export * from './projects/project.dto';
export * from './projects/projects.controller';
export * from './queries/queries.controller';
export * from './queries/query.dto';
export * from './webhooks/webhook.dto';
export * from './webhooks/webhooks.controller';
export * from './webhooks/webhooks.service';
