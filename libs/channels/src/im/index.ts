export * from './caches';
export * from './direct-messenger';
export * from './im-client';
export * from './im-http';
export * from './im-registry';
export * from './im-types';
