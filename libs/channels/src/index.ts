export * from './channel-adapter';
export * from './channels.module';
export * from './classify';
export * from './custom/custom.adapter';
export * from './http/safe-http-client';
export * from './http/target-policy';
export * from './registry';
