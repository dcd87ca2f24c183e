export * from './app-processes';
export * from './fake-receiver';
export * from './services';
export * from './test-config';
export * from './tcp-proxy';
export * from './http-client';
export * from './fake-im-apis';
export * from './legacy-secrets';
