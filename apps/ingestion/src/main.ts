import 'reflect-metadata';
import { DEVLAKE_ROUTES } from '@herald/intake';
import { createHttpApp, listen, loadConfigOrExit, runMain, startTracing, serveOpenApi, type HttpAppOptions } from '@herald/platform';
import { IngestionModule } from './app.module';

runMain('ingestion', async () => {
  const config = loadConfigOrExit({ app: 'ingestion', require: ['HERALD_ADMIN_TOKEN', 'HERALD_ENCRYPTION_KEY'] });
  // Before the app is built: its request hooks and services ask whether tracing is on.
  await startTracing(config, 'ingestion');
  const options: HttpAppOptions = {
    name: 'ingestion',
    port: config.ingestionPort,
    config,
    // DevLake's routes answer in its envelope and read any body as JSON, as DevLake does.
    dialects: [DEVLAKE_ROUTES],
    configure: (app) => {
      serveOpenApi(app, {
        title: 'Herald intake',
        description: 'Intake routes; the API gateway forwards the same paths and merges this description into its own.',
      });
    },
  };
  const app = await createHttpApp(IngestionModule.forRoot(config), options);
  await listen(app, options);
});
