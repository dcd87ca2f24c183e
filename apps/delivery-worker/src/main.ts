import 'reflect-metadata';
import { createHttpApp, listen, loadConfigOrExit, runMain, startTracing } from '@herald/platform';
import { DeliveryWorkerModule } from './app.module';

runMain('delivery-worker', async () => {
  const config = loadConfigOrExit({ app: 'delivery-worker', require: ['HERALD_ENCRYPTION_KEY'] });
  // Before the app is built: its request hooks and services ask whether tracing is on.
  await startTracing(config, 'delivery-worker');
  const options = { name: 'delivery-worker', port: config.workerPort, config };
  const app = await createHttpApp(DeliveryWorkerModule.forRoot(config), options);
  await listen(app, options);
});
