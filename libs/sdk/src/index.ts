export * from './client';
export * from './errors';
export * from './events';
export type { components, paths, operations } from './generated/openapi';
export * from './types';
