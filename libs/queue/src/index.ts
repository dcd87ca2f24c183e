export * from './herald-queues';
export * from './job-options';
export * from './outbox-relay';
export * from './queue.module';
export * from './rate-limiter';
export * from './redis';
export * from './worker';
export * from './queue-backlog';
