export * from './channel-type';
export * from './delivery';
export * from './errors';
export * from './event';
export * from './event-catalogue';
export * from './retry-schedule';
export * from './url-mask';
export * from './ids';
