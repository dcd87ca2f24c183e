export * from './deliver.processor';
export * from './delivery.module';
export * from './delivery-metrics';
export * from './delivery-worker.service';
export * from './event-view';
export * from './reconciler';
export * from './retention';
