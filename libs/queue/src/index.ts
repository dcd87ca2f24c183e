export * from './coordination';
export * from './herald-queues';
export * from './job-options';
export * from './queue.module';
export * from './rate-limiter';
export * from './redis';
export * from './worker';
export * from './queue-backlog';
